"""Use cases: one module per flow; each opens one unit of work and applies the domain."""
