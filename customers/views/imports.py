"""The import wizard: upload, mapping, preview, run with progress, report."""
