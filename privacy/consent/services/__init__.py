"""Writes of consent, one module per capability (records, preferences, double opt-in, notices)."""
