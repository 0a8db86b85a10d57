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


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed URL: its engine (a name in the dialect registry), the SQLAlchemy URL,
    the PostgreSQL ``schema`` (None elsewhere) and the file ``path`` of an embedded
    engine (None for servers)."""

    raw: str
    engine: str
    sa_url: sa.URL = field(repr=False)
    schema: str | None = None
    path: str | None = None

    @property
    def password(self) -> str | None:
        return self.sa_url.password

    @property
    def masked(self) -> str:
        return mask_url(self.raw)

    @property
    def where(self) -> str:
        """The masked URL plus a non-default PostgreSQL schema, for messages."""
        extra = f" (schema {self.schema})" if self.schema not in (None, "public") else ""
        return self.masked + extra

    def scrub(self, text: str) -> str:
        return scrub(text, self.password)


def parse_url(url: str, pg_schema: str | None = None) -> DatabaseURL:
    """Parse ``url``; unknown schemes raise a DatabaseError listing the supported ones.

    The scheme selects the engine through :mod:`plurel_sql.dialects.registry`; the
    engine's dialect class checks the rest (:meth:`Dialect.url_parts`).
    ``pg_schema`` (the CLI's ``--pg-schema``) overrides ``?schema=`` of a PostgreSQL URL.
    """
    from plurel_sql.dialects import registry

    if not isinstance(url, str) or "://" not in url:
        raise DatabaseError(
            f"not a database URL: {mask_url(str(url))!r} (supported: {registry.supported()})"
        )
    scheme = url.split("://", 1)[0].lower()
    engine = registry.engine_for_scheme(scheme)
    if engine is None:
        raise DatabaseError(
            f"unsupported URL scheme '{scheme}://' (supported: {registry.supported()})"
        )
    try:
        sa_url = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError / ValueError variants
        raise DatabaseError(f"malformed URL {mask_url(url)}: {scrub(str(exc), None)}") from None
    sa_url, schema, path = registry.dialect_class(engine).url_parts(sa_url, url, pg_schema)
    return DatabaseURL(raw=url, engine=engine, sa_url=sa_url, schema=schema, path=path)


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
