"""Wiring: the Application, its lifecycle and jobs, the webhook, health and the CLI."""
