"""Writes of the customers app, one module per capability (imports, identity, merge, ...)."""
