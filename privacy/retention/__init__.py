"""Retention policies per data category and the nightly purge."""
