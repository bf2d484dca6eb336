"""Consent pages: public pages opened from emails, and the staff pages of privacy notices."""
