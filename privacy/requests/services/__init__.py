"""Writes of data-subject requests, one module per step family (lifecycle, packages, alerts)."""
