"""Exception types whose message is a complete one-line explanation for the user.

The CLI prints ``error: <message>`` for any :class:`PlurelError` and exits non-zero
without a traceback; library users can catch the specific subclasses.
"""


class PlurelError(Exception):
    """Base class: the message alone tells the user what is wrong."""


class ConfigError(PlurelError):
    """A configuration value or file is invalid."""


class SchemaError(PlurelError):
    """A schema (IR JSON, SQL file) is invalid or unsupported."""


class SchemaProblems(SchemaError):
    """Every unsupported construct of a schema at once, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


class DatabaseError(PlurelError):
    """A database URL, connection or existing database state is unusable."""


class VerificationError(PlurelError):
    """A generated database failed a consistency check."""
