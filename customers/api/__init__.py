"""The customers app's REST endpoints, one module per resource."""
