"""Orchestration beside the public API: one database into a URL (:mod:`.job`,
``plurel_sql.generate``) and many databases over worker processes (:mod:`.many`,
``plurel_sql.generate_many``). Nothing is imported here, so the one-database path
never loads multiprocessing."""
