"""plurel-sql: synthetic relational databases (PluRel) written into real SQL engines."""

__version__ = "0.5.0"
