"""Views: every Chinese text, button and rendered report; no database, no Telegram calls."""
