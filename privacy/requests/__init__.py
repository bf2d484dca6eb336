"""Data-subject requests (access, erasure, rectification, ...) and their access packages."""
