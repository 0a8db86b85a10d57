"""Atomic writes for embedded, single-file engines (DuckDB, SQLite).

Two strategies, chosen per run:

- *temporary file*: when the target file does not exist, or ``--replace`` is given
  and the file holds nothing but a previous generation, the database is written to
  ``.<name>.plurel-tmp-<pid>`` next to the target and renamed over it with
  :func:`os.replace` after a clean close. A crash leaves the target untouched; the
  stale temporary file is removed by the next run (its process is gone).
- *in place*: when the file also holds other tables, everything happens in one
  transaction on the target itself (both engines have transactional DDL), so a
  crash rolls back to the previous state.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from plurel_sql.dialects.base import META_TABLE, RESERVED_PREFIX, Dialect, WriteSession
from plurel_sql.errors import DatabaseError

TMP_MARK = ".plurel-tmp-"
SIDE_SUFFIXES = (".wal", "-journal", "-wal", "-shm")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (its temporary files are then not stale)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_with_sidecars(path: Path) -> None:
    for p in [path, *(path.with_name(path.name + s) for s in SIDE_SUFFIXES)]:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


@contextlib.contextmanager
def _target_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``<path>.lock`` for the whole write: a second writer of
    the same file fails at once with one line instead of interleaving (the last
    rename would silently win). The lock file stays (removing it would race)."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise DatabaseError(f"cannot lock {path}: {lock_path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseError(
                f"{path} is being written by another plurel-sql process; try again later"
            ) from None
        yield
    finally:
        os.close(fd)


class FileDialect(Dialect):
    """Shared URL rules and write-session logic of DuckDB and SQLite."""

    @classmethod
    def url_parts(
        cls, sa_url: sa.URL, raw: str, pg_schema: str | None
    ) -> tuple[sa.URL, str | None, str | None]:
        if pg_schema:
            raise DatabaseError("--pg-schema only applies to postgresql:// URLs")
        if not sa_url.database or sa_url.database == ":memory:":
            raise DatabaseError(
                f"{cls.name} URL needs a file path, e.g. {cls.name}:///my.{cls.name}"
            )
        return sa_url, None, sa_url.database

    def _open(self, path: str, read_only: bool = False) -> Any:
        raise NotImplementedError

    def _begin(self, con: Any) -> None:
        raise NotImplementedError

    def _commit(self, con: Any) -> None:
        raise NotImplementedError

    def _rollback(self, con: Any) -> None:
        raise NotImplementedError

    def connect(self, read_only: bool = False) -> Any:
        path = Path(self.url.path or "")
        if read_only and not path.exists():
            raise DatabaseError(f"no database at {self.url.masked}: file {path} does not exist")
        return self._open(str(path), read_only=read_only)

    def target_path(self) -> Path:
        """The target file, refused unless it is a regular file or a new path: a
        device node, FIFO, socket or directory (or a link to one) is never opened
        nor renamed over (``sqlite:////dev/null`` once replaced the device)."""
        path = Path(self.url.path or "")
        if path.exists() or path.is_symlink():
            try:
                mode = os.stat(path).st_mode
            except OSError as exc:
                raise DatabaseError(f"cannot write {path}: {exc.strerror}") from None
            if not stat.S_ISREG(mode):
                kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
                raise DatabaseError(f"cannot write {path}: it is {kind}")
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise DatabaseError(f"cannot write {path}: directory {parent} does not exist")
        if path.is_dir():
            raise DatabaseError(f"cannot write {path}: it is a directory")
        if not os.access(parent, os.W_OK):
            raise DatabaseError(f"cannot write {path}: directory {parent} is not writable")
        return path

    def clean_stale_temporaries(self, path: Path) -> None:
        """Remove temporary files left by killed runs (their process no longer exists)."""
        prefix = f".{path.name}{TMP_MARK}"
        for tmp in path.parent.glob(prefix + "*"):
            pid_text = tmp.name[len(prefix) :].split(".")[0].split("-")[0]
            if pid_text.isdigit() and not pid_alive(int(pid_text)):
                _remove_with_sidecars(tmp)

    @contextlib.contextmanager
    def write_session(
        self, conflicts: Callable[[set[str]], set[str]], replace: bool
    ) -> Iterator[WriteSession]:
        path = self.target_path()
        with _target_lock(path):
            yield from self._write_session(path, conflicts, replace)

    def _write_session(
        self, path: Path, conflicts: Callable[[set[str]], set[str]], replace: bool
    ) -> Iterator[WriteSession]:
        self.clean_stale_temporaries(path)
        if path.exists():
            con = self._open(str(path))
            try:
                existing = self.list_tables(con)
                clash = conflicts(existing)
                if clash and not replace:
                    raise self.conflict_error(self.url.masked, clash)
                previous = self.read_meta_rows(con) if META_TABLE in existing else {}
                reserved = {t for t in existing if t.startswith(RESERVED_PREFIX)}
                ours = clash | reserved | _tables_of(previous)
                in_place = bool(existing - ours)
                if in_place:
                    yield from self._transaction(con, WriteSession(con, existing, previous))
                    return
            finally:
                with contextlib.suppress(Exception):
                    con.close()
            for suffix in SIDE_SUFFIXES:
                if path.with_name(path.name + suffix).exists():
                    raise DatabaseError(
                        f"{path} has an unfinished journal ({suffix}); open it once to recover"
                    )
        tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
        _remove_with_sidecars(tmp)
        try:
            con = self._open(str(tmp))
        except DatabaseError:
            _remove_with_sidecars(tmp)
            raise
        try:
            yield from self._transaction(con, WriteSession(con, set(), {}, private=True))
            con.close()
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(Exception):
                con.close()
            _remove_with_sidecars(tmp)
            raise

    def intermediate_commit(self, con: Any) -> None:
        self._commit(con)
        self._begin(con)

    def _transaction(self, con: Any, session: WriteSession) -> Iterator[WriteSession]:
        self._begin(con)
        try:
            yield session
        except BaseException:
            with contextlib.suppress(Exception):
                self._rollback(con)
            raise
        self._commit(con)


def _tables_of(meta_rows: dict[str, str]) -> set[str]:
    """Table names recorded in a previous generation's ``plurel_meta`` rows."""
    try:
        return {t["name"] for t in json.loads(meta_rows.get("schema", "{}")).get("tables", [])}
    except (ValueError, AttributeError, TypeError, KeyError):
        return set()
