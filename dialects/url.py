"""Parse and display database URLs: which engine, where, and never the password.

A URL is accepted in the SQLAlchemy form the user already knows:

- ``duckdb:///path/to/file.duckdb`` (relative path) or ``duckdb:////abs/path.duckdb``
- ``postgresql://user:pass@host:port/dbname?schema=NAME``
  (``postgresql+psycopg://`` is accepted too; psycopg 3 is always the driver)
- ``sqlite:///path/to/file.sqlite`` or ``sqlite:////abs/path.sqlite``

Every message that shows a URL uses :func:`mask_url`, and :func:`scrub` removes the
password from text that came from a driver, so a password is never printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from plurel_sql.errors import DatabaseError

# scheme (as written in the URL) -> engine name
SCHEMES: dict[str, str] = {
    "duckdb": "duckdb",
    "postgresql": "postgresql",
    "postgresql+psycopg": "postgresql",
    "postgres": "postgresql",
    "sqlite": "sqlite",
}
SUPPORTED = "duckdb:///PATH, postgresql://USER:PASS@HOST:PORT/DB[?schema=NAME], sqlite:///PATH"


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed URL. ``schema`` is the PostgreSQL schema (None elsewhere)."""

    raw: str
    engine: str
    sa_url: sa.URL = field(repr=False)
    schema: str | None = None

    @property
    def password(self) -> str | None:
        return self.sa_url.password

    @property
    def path(self) -> str | None:
        """File path of an embedded engine (DuckDB, SQLite); None for servers."""
        return self.sa_url.database if self.engine != "postgresql" else None

    @property
    def masked(self) -> str:
        return mask_url(self.raw)

    def scrub(self, text: str) -> str:
        return scrub(text, self.password)


def parse_url(url: str, pg_schema: str | None = None) -> DatabaseURL:
    """Parse ``url``; unknown schemes raise a DatabaseError listing the supported ones.

    ``pg_schema`` (the CLI's ``--pg-schema``) overrides ``?schema=`` of a PostgreSQL URL.
    """
    if not isinstance(url, str) or "://" not in url:
        raise DatabaseError(f"not a database URL: {mask_url(str(url))!r} (supported: {SUPPORTED})")
    scheme = url.split("://", 1)[0].lower()
    engine = SCHEMES.get(scheme)
    if engine is None:
        raise DatabaseError(f"unsupported URL scheme '{scheme}://' (supported: {SUPPORTED})")
    try:
        sa_url = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError / ValueError variants
        raise DatabaseError(f"malformed URL {mask_url(url)}: {scrub(str(exc), None)}") from None
    schema = None
    if engine == "postgresql":
        query = dict(sa_url.query)
        raw_schema = query.pop("schema", None)
        if isinstance(raw_schema, tuple):
            raw_schema = raw_schema[-1]
        schema = pg_schema or raw_schema or "public"
        sa_url = sa_url.set(drivername="postgresql+psycopg", query=query)
        if not sa_url.database:
            raise DatabaseError(f"PostgreSQL URL needs a database name: {mask_url(url)}")
    else:
        if pg_schema:
            raise DatabaseError("--pg-schema only applies to postgresql:// URLs")
        if not sa_url.database or sa_url.database == ":memory:":
            raise DatabaseError(f"{engine} URL needs a file path, e.g. {engine}:///my.{engine}")
    return DatabaseURL(raw=url, engine=engine, sa_url=sa_url, schema=schema)


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (works on malformed URLs too)."""
    if "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    netloc, sep, tail = rest.partition("/")
    if "@" in netloc:
        creds, host = netloc.rsplit("@", 1)
        if ":" in creds:
            creds = creds.split(":", 1)[0] + ":***"
        netloc = f"{creds}@{host}"
    tail = _mask_query_password(tail)
    return f"{scheme}://{netloc}{sep}{tail}"


def _mask_query_password(tail: str) -> str:
    path, q, query = tail.partition("?")
    if not q:
        return tail
    parts = []
    for item in query.split("&"):
        key, eq, _value = item.partition("=")
        parts.append(f"{key}=***" if eq and key.lower() == "password" else item)
    return f"{path}?{'&'.join(parts)}"


def scrub(text: str, password: str | None) -> str:
    """Remove ``password`` (and any password inside a URL) from a message."""
    if password:
        text = text.replace(password, "***")
    words = [mask_url(w) if "://" in w else w for w in text.split(" ")]
    return " ".join(words)
