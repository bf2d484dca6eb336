"""Consent: purposes, consent records, double opt-in, the preference centre, privacy notices."""
