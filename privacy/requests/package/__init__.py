"""The access package (Article 15): exporter registry, ZIP writer, JSON Schema, information text."""
