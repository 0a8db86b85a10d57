"""``relbench:///DIR`` and ``parquet:///DIR``: folders as output targets, found by URL
scheme like the engines (:mod:`plurel_sql.dialects.registry`).

Registering them there is what lets ``plurel-sql generate --url relbench:///out``,
``generate-many``'s URL templates and ``plurel_sql.generate(url)`` write folders with
no special case: the URL parses into an :class:`~plurel_sql.dialects.Engine` whose
dialect is a :class:`FolderTarget`, and the writer hands the batch stream to
:func:`~plurel_sql.interop.folder.write_folder` instead of loading it with SQL.

A folder is not a database: ``verify`` checks it by loading it into a throwaway
DuckDB (:mod:`plurel_sql.interop.check`); anything else that would connect to one
(``describe``, the loader, ``fill``) gets a one-line error saying how to read it
(RelBench itself, or ``plurel-sql import`` into an engine).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from plurel_sql.dialects.base import Dialect
from plurel_sql.errors import DatabaseError
from plurel_sql.materialize.progress import Progress


class FolderTarget(Dialect):
    """Base of the folder targets: URL rules, and the write that replaces SQL."""

    layout: str = ""

    @classmethod
    def url_parts(
        cls, sa_url: sa.URL, raw: str, pg_schema: str | None
    ) -> tuple[sa.URL, str | None, str | None]:
        if pg_schema:
            raise DatabaseError("--pg-schema only applies to postgresql:// URLs")
        if sa_url.host or sa_url.username or sa_url.password or sa_url.port:
            raise DatabaseError(f"{cls.name} URL takes a folder path only, e.g. {cls.name}:///DIR")
        if not sa_url.database:
            raise DatabaseError(f"{cls.name} URL needs a folder path, e.g. {cls.name}:///DIR")
        return sa_url, None, sa_url.database

    def _make_sa_dialect(self) -> sa.engine.Dialect:
        return sa.engine.default.DefaultDialect()

    def _not_a_database(self) -> DatabaseError:
        return DatabaseError(
            f"{self.url.masked} is a folder of Parquet files, not a database: read it with "
            "relbench.load_dataset(DIR) or pyarrow, or load it into an engine with "
            "`plurel-sql import DIR --url URL`"
        )

    def connect(self, read_only: bool = False) -> Any:
        raise self._not_a_database()

    def list_tables(self, con: Any) -> set[str]:
        raise self._not_a_database()

    def write_session(self, conflicts: Any, replace: bool) -> Any:
        raise self._not_a_database()

    def write(
        self,
        source: Any,
        *,
        seed: int,
        config: dict[str, Any],
        replace: bool = False,
        progress: Progress | None = None,
        fill: bool = False,
    ) -> Any:
        """Write a batch source (see ``materialize.writer.BatchSource``) into the folder."""
        from plurel_sql.interop.folder import write_folder

        if fill:
            raise DatabaseError(f"cannot fill {self.url.masked}: fill needs a database URL")
        return write_folder(
            source,
            self.url.path or "",
            self.layout,
            seed=seed,
            config=config,
            where=self.url.masked,
            replace=replace,
            progress=progress,
        )

    def verify(self, checksums: bool = True) -> Any:
        """The folder re-checked (see :mod:`plurel_sql.interop.check`)."""
        from plurel_sql.interop.check import verify_folder

        return verify_folder(self.url.path or "", self.url.masked, checksums)


class RelBenchTarget(FolderTarget):
    """``relbench:///DIR``: a RelBench v3 dataset folder."""

    name = "relbench"
    layout = "relbench"


class ParquetTarget(FolderTarget):
    """``parquet:///DIR``: one zstd Parquet file per table plus ``plurel.json``."""

    name = "parquet"
    layout = "parquet"
