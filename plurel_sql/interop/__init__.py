"""Databases as folders of Parquet files: RelBench v3 and plain Parquet.

- :mod:`~plurel_sql.interop.layout` - the two folder layouts and how the Schema IR
  maps onto RelBench's manifest (keys, time columns, cut-offs, column types);
- :mod:`~plurel_sql.interop.folder` - writes a stream of (table, Arrow batch) into a
  folder atomically (a temporary folder renamed into place);
- :mod:`~plurel_sql.interop.target` - ``relbench:///DIR`` and ``parquet:///DIR`` as
  output targets of ``generate`` (registered by URL scheme like the engines);
- :mod:`~plurel_sql.interop.export` - an engine's database into a folder;
- :mod:`~plurel_sql.interop.importer` - a folder into an engine, keys enforced;
- :mod:`~plurel_sql.interop.tasks` - the masked-cell tasks as RelBench task folders.

docs/relbench.md describes the layouts and what RelBench cannot hold.
"""
