"""Models arrive with their issue; this module marks the app as holding models."""
