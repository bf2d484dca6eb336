"""REST endpoints of the privacy core, one module per resource (audit log, accounts and tokens)."""
