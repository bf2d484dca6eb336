"""Customer list, 360-degree profile, edit form, merge and the duplicates queue."""
