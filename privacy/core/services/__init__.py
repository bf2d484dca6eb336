"""Writes of the privacy core, one module per capability (audit, accounts, sign-in, encryption)."""
