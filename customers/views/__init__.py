"""Staff UI of the customers app: one module per screen family (customers, imports)."""
