"""Plausible values for users' schemas (docs/schemas.md, "Plausible values"): which
scale each column lands on (rules), the vocabularies of text columns, and row counts
that fit each table's role."""
