"""Stages 2 and 3 of the method, streaming: :class:`stream.DatabaseGenerator` turns a
configuration and a seed into Arrow batches, table by table (no database involved).

The public call that writes a database is :func:`plurel_sql.generate`
(:mod:`plurel_sql.orchestrate.job`).
"""
