"""DDL text -> declared tables of the Schema IR, by sqlglot's parser (never executed).

Reads CREATE TABLE (inline and table-level constraints), ALTER TABLE ... ADD
CONSTRAINT / ADD COLUMN / ALTER COLUMN ... SET NOT NULL, CREATE TYPE ... AS ENUM and
CREATE UNIQUE INDEX on plain columns, in the PostgreSQL, DuckDB, SQLite and MySQL
dialects. Statements that do not shape the data (other indexes, COMMENT, GRANT, SET,
transactions, INSERT, DROP, views, sequences, extensions) are ignored with a note.
Everything this module cannot represent is collected as a problem (one line naming
table and column) instead of stopping at the first: the caller reports them all.

Identifiers keep their declared spelling; PostgreSQL folds unquoted ones to lower
case, as PostgreSQL itself does. Names are resolved exactly first, then ignoring
case (the other engines compare unquoted names case-insensitively).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from plurel_sql.errors import SchemaError
from plurel_sql.schema.ir import COMPARISONS, Atom, Check, Column, ForeignKey, Table, Unique
from plurel_sql.schema.sqltypes import MAX_NUMERIC_PRECISION, SqlType

DIALECTS = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "duckdb": "duckdb",
    "sqlite": "sqlite",
    "mysql": "mysql",
}
SUPPORTED_SHAPES = (
    "comparisons with a constant or another column, BETWEEN, IN / NOT IN lists, "
    "IS NOT NULL and length(), combined with AND"
)


@dataclass
class Declared:
    """What a DDL file declares: tables (no row counts yet), notes about what was
    ignored, and problems (unsupported constructs)."""

    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def resolve_dialect(name: str | None, sql: str) -> str:
    """sqlglot's dialect for ``--schema-dialect`` (default: MySQL when the file uses
    backtick quotes, else PostgreSQL)."""
    if name is None or name == "auto":
        return "mysql" if "`" in sql else "postgres"
    try:
        return DIALECTS[name.lower()]
    except KeyError:
        raise SchemaError(
            f"unknown schema dialect {name!r}; expected one of postgresql, duckdb, sqlite, mysql"
        ) from None


def parse_type(text: str, dialect: str) -> SqlType | None:
    """The IR type of a type's SQL text (``DATETIME``, ``VARCHAR(40)``), or None."""
    import sqlglot
    from sqlglot import exp

    try:
        dtype = exp.DataType.build(text, dialect=dialect)
    except (sqlglot.errors.ParseError, ValueError):
        return None
    return DdlReader(dialect, "type").sql_type("type", dtype)[0]


def parse_ddl(sql: str, dialect: str | None = None, where: str = "schema") -> Declared:
    """The declared tables of ``sql`` (see the module docstring)."""
    import sqlglot

    read = resolve_dialect(dialect, sql)
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # we report what it skips
    try:
        statements = sqlglot.parse(sql, read=read)
    except sqlglot.errors.ParseError as exc:
        details = [
            f"{where}: invalid SQL at line {e.get('line')}, column {e.get('col')}: "
            f"{e.get('description')}"
            for e in exc.errors
        ] or [f"{where}: invalid SQL: {' '.join(str(exc).split())}"]
        return Declared(problems=details)
    reader = DdlReader(read, where)
    for statement in statements:
        if statement is not None:
            reader.statement(statement)
    reader.finish()
    if not reader.tables and not reader.out.problems:
        reader.out.problems.append(f"{where}: no CREATE TABLE statements found")
    return reader.out


class DdlReader:
    """Walks the statements, building tables; see :func:`parse_ddl`. Also reads the
    SQL text of a single CHECK or DEFAULT for tables that come from elsewhere
    (:meth:`check_text`, :meth:`default_text`)."""

    def __init__(self, dialect: str, where: str) -> None:
        from sqlglot import exp

        self.dialect = dialect
        self.where = where
        self.exp = exp
        self.out = Declared()
        self.tables: dict[str, Table] = {}
        self.enums: dict[str, list[str]] = {}
        self.pending: list[tuple[str, Any]] = []  # (table, constraint) from ALTER TABLE

    # ------------------------------------------------------------------ names
    def name(self, identifier: Any) -> str:
        if identifier is None:
            return ""
        exp = self.exp
        if isinstance(identifier, exp.Identifier):
            text, quoted = identifier.this, identifier.quoted
        elif isinstance(identifier, (exp.Column, exp.Table)):
            return self.name(identifier.this)
        else:
            text, quoted = identifier.name, False
        return text.lower() if self.dialect == "postgres" and not quoted else text

    def table(self, name: str) -> Table | None:
        if name in self.tables:
            return self.tables[name]
        matches = [t for n, t in self.tables.items() if n.lower() == name.lower()]
        return matches[0] if len(matches) == 1 else None

    @staticmethod
    def column_name(table: Table, name: str) -> str | None:
        names = table.column_names()
        if name in names:
            return name
        matches = [n for n in names if n.lower() == name.lower()]
        return matches[0] if len(matches) == 1 else None

    def problem(self, text: str) -> None:
        self.out.problems.append(text)

    def note(self, text: str) -> None:
        self.out.notes.append(f"{self.where}: {text}")

    # ------------------------------------------------------------- statements
    def statement(self, st: Any) -> None:
        exp = self.exp
        if isinstance(st, exp.Create):
            kind = (st.args.get("kind") or "").upper()
            if kind == "TABLE":
                self.create_table(st)
            elif kind == "TYPE":
                self.create_type(st)
            elif kind == "INDEX":
                self.create_index(st)
            else:
                self.note(f"ignored CREATE {kind} {st.this.sql() if st.this else ''}".rstrip())
        elif isinstance(st, exp.Alter) and (st.args.get("kind") or "").upper() == "TABLE":
            self.alter_table(st)
        else:
            text = " ".join(st.sql(dialect=self.dialect, comments=False).split())
            self.note(f"ignored {text[:60]}{'...' if len(text) > 60 else ''}")

    def create_type(self, st: Any) -> None:
        name = self.name(st.this)
        dtype = st.args.get("expression")
        if isinstance(dtype, self.exp.DataType) and dtype.this == self.exp.DataType.Type.ENUM:
            self.enums[name] = [e.this for e in dtype.expressions]
        else:
            self.problem(f"{self.where}: type {name}: only CREATE TYPE ... AS ENUM is supported")

    def create_index(self, st: Any) -> None:
        index = st.this
        table = self.table(self.name(index.args.get("table")))
        label = f"index {self.name(index)}"
        if not st.args.get("unique"):
            self.note(f"ignored {label} (indexes do not change the data)")
            return
        params = index.args.get("params")
        columns = [o.this for o in (params.args.get("columns") if params else None) or []]
        if table is None or not all(isinstance(c, self.exp.Column) for c in columns):
            self.problem(f"{self.where}: unique {label}: only plain columns of a known table")
            return
        names = self.columns_of(table, columns, f"unique {label}")
        if names:
            table.unique.append(Unique(names, self.name(index) or None))

    def create_table(self, st: Any) -> None:
        exp = self.exp
        schema = st.this
        if not isinstance(schema, exp.Schema) or st.args.get("expression") is not None:
            self.problem(f"{self.where}: CREATE TABLE ... AS / LIKE is not supported")
            return
        name = self.name(schema.this)
        if self.table(name) is not None:
            self.problem(f"{name}: declared twice")
            return
        table = Table(name=name, kind="entity", num_rows=0, columns=[])
        self.tables[name] = table
        constraints = []
        for item in schema.expressions:
            if isinstance(item, exp.ColumnDef):
                self.column(table, item)
            elif isinstance(item, exp.Identifier):
                self.problem(f"{name}.{self.name(item)}: no declared type")
            else:
                constraints.append(item)
        for item in constraints:  # table-level constraints see every column
            self.table_constraint(table, item)

    def alter_table(self, st: Any) -> None:
        exp = self.exp
        name = self.name(st.this)
        table = self.table(name)
        if table is None:
            self.problem(f"{name}: ALTER TABLE of a table not created in this file")
            return
        for action in st.args.get("actions") or []:
            if isinstance(action, exp.ColumnDef):
                self.column(table, action)
            elif isinstance(action, exp.AddConstraint):
                for item in action.expressions:
                    self.pending.append((table.name, item))
            elif isinstance(action, exp.AlterColumn) and action.args.get("allow_null") is False:
                column = self.column_name(table, self.name(action.this))
                if column is None:
                    self.problem(f"{name}.{self.name(action.this)}: unknown column")
                else:
                    table.column(column).nullable = False
            else:
                self.note(f"ignored ALTER TABLE {name} {action.sql(dialect=self.dialect)[:40]}")

    def finish(self) -> None:
        """Constraints added by ALTER TABLE (after all tables exist), then names of
        primary-key columns become NOT NULL, as SQL says."""
        for name, item in self.pending:
            self.table_constraint(self.tables[name], item)
        for table in self.tables.values():
            for column in table.columns:
                if column.name in table.primary_key:
                    column.nullable = False
            self.out.tables.append(table)

    # ---------------------------------------------------------------- columns
    def column(self, table: Table, cd: Any) -> None:
        exp = self.exp
        name = self.name(cd.this)
        where = f"{table.name}.{name}"
        if name in table.column_names():
            self.problem(f"{where}: declared twice")
            return
        sql_type, autoincrement = self.sql_type(where, cd.args.get("kind"))
        column = Column(name, sql_type or SqlType("text"), autoincrement=autoincrement)
        if sql_type is not None and sql_type.name == "enum":
            column.labels = list(sql_type.labels or [])
        table.columns.append(column)
        for constraint in cd.constraints:
            kind = constraint.kind
            if isinstance(kind, exp.NotNullColumnConstraint):
                column.nullable = bool(kind.args.get("allow_null"))
            elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
                self.set_primary_key(table, [name])
            elif isinstance(kind, exp.UniqueColumnConstraint):
                table.unique.append(Unique([name]))
            elif isinstance(kind, exp.CheckColumnConstraint):
                self.check(table, kind.this, None)
            elif isinstance(kind, exp.Reference):
                self.reference(table, [name], kind, None)
            elif isinstance(kind, exp.DefaultColumnConstraint):
                column.default = self.default(kind.this)
            elif isinstance(kind, exp.ComputedColumnConstraint) or (
                isinstance(kind, exp.GeneratedAsIdentityColumnConstraint)
                and kind.args.get("expression") is not None
            ):
                self.problem(f"{where}: generated (computed) columns are not supported")
            elif isinstance(
                kind, (exp.AutoIncrementColumnConstraint, exp.GeneratedAsIdentityColumnConstraint)
            ):
                column.autoincrement = True
            # collations, character sets, comments, ON UPDATE clauses: nothing to honour

    def check_text(self, table: Table, sql: str, name: str | None) -> None:
        """Add the CHECK whose expression is ``sql`` to ``table`` (or a problem)."""
        import sqlglot

        try:
            expression = sqlglot.parse_one(sql, read=self.dialect)
        except sqlglot.errors.ParseError:
            self.problem(f"{table.name}: CHECK ({' '.join(sql.split())}) cannot be parsed")
            return
        self.check(table, expression, name)

    def default_text(self, sql: str) -> str | None:
        """The portable form of a DEFAULT expression's text, or None."""
        import sqlglot

        try:
            return self.default(sqlglot.parse_one(sql, read=self.dialect))
        except sqlglot.errors.ParseError:
            return None

    def default(self, value: Any) -> str | None:
        """A portable default (literal or CURRENT_TIMESTAMP/DATE), else None."""
        exp = self.exp
        value = _strip(value, exp)  # PostgreSQL reflects 'new'::ticket_state
        if isinstance(value, (exp.Literal, exp.Boolean, exp.Null)):
            return value.sql(dialect="postgres")
        if isinstance(value, exp.Neg) and isinstance(value.this, exp.Literal):
            return value.sql(dialect="postgres")
        if isinstance(value, (exp.CurrentTimestamp, exp.CurrentDate)):
            return value.sql(dialect="postgres").upper()
        return None

    def sql_type(self, where: str, dtype: Any) -> tuple[SqlType | None, bool]:
        """(IR type or None if unsupported, autoincrement) of a sqlglot DataType."""
        exp = self.exp
        if dtype is None:
            self.problem(f"{where}: no declared type")
            return None, False
        T = exp.DataType.Type
        t = dtype.this
        params = [int(p.this.this) for p in dtype.expressions if _is_int_param(p, exp)]
        simple = {
            T.TINYINT: "tinyint",
            T.SMALLINT: "smallint",
            T.INT: "integer",
            T.MEDIUMINT: "integer",
            T.BIGINT: "bigint",
            T.FLOAT: "real",
            T.DOUBLE: "double",
            T.BOOLEAN: "boolean",
            T.TEXT: "text",
            T.MEDIUMTEXT: "text",
            T.LONGTEXT: "text",
            T.TINYTEXT: "text",
            T.DATE: "date",
            T.TIME: "time",
            T.DATETIME: "timestamp",
            T.TIMESTAMP: "timestamp",
            T.TIMESTAMPNTZ: "timestamp",
            T.TIMESTAMPTZ: "timestamptz",
            T.TIMESTAMPLTZ: "timestamptz",
            T.UUID: "uuid",
        }
        unsigned = {
            T.UTINYINT: "tinyint",
            T.USMALLINT: "smallint",
            T.UMEDIUMINT: "integer",
            T.UINT: "integer",
            T.UBIGINT: "bigint",
        }
        serial = {T.SMALLSERIAL: "smallint", T.SERIAL: "integer", T.BIGSERIAL: "bigint"}
        if t in serial:
            return SqlType(serial[t]), True
        if t in unsigned:
            return SqlType(unsigned[t], unsigned=True), False
        if t == T.UDOUBLE:
            return SqlType("double", unsigned=True), False
        if t == T.DOUBLE and params and params[0] <= 24:  # FLOAT(p): single precision
            return SqlType("real"), False
        if t in simple:
            return SqlType(simple[t]), False
        if t in (T.CHAR, T.NCHAR, T.BPCHAR):
            return SqlType("char", length=params[0] if params else 1), False
        if t in (T.VARCHAR, T.NVARCHAR):
            return SqlType("varchar", length=params[0] if params else None), False
        if t in (T.DECIMAL, T.UDECIMAL):
            unsigned_decimal = t == T.UDECIMAL
            if not params:
                return SqlType("numeric", unsigned=unsigned_decimal), False
            precision, scale = params[0], params[1] if len(params) > 1 else 0
            if precision > MAX_NUMERIC_PRECISION:
                self.problem(f"{where}: NUMERIC precision {precision} above 38 is not supported")
                return None, False
            return (
                SqlType("numeric", precision=precision, scale=scale, unsigned=unsigned_decimal),
                False,
            )
        if t == T.ENUM:
            labels = [e.this for e in dtype.expressions]
            return SqlType("enum", labels=labels), False
        if t == T.USERDEFINED:
            name = self.name(dtype.args.get("kind"))
            if name in self.enums:
                return SqlType("enum", labels=list(self.enums[name]), enum_name=name), False
            self.problem(
                f"{where}: type {name} is not declared in this file (CREATE TYPE ... AS ENUM)"
            )
            return None, False
        self.problem(f"{where}: type {dtype.sql(dialect=self.dialect)} is not supported")
        return None, False

    # ------------------------------------------------------------ constraints
    def table_constraint(self, table: Table, item: Any) -> None:
        exp = self.exp
        name = None
        parts = [item]
        if isinstance(item, exp.Constraint):
            name = self.name(item.this) or None
            parts = list(item.expressions)
        for part in parts:
            if isinstance(part, exp.PrimaryKey):
                names = self.columns_of(table, part.expressions, "primary key")
                if names:
                    self.set_primary_key(table, names)
            elif isinstance(part, exp.ForeignKey):
                names = self.columns_of(table, part.expressions, "foreign key")
                if names:
                    self.reference(table, names, part.args.get("reference"), name)
            elif isinstance(part, exp.UniqueColumnConstraint):
                spec = part.this
                own = self.name(spec.this) if isinstance(spec, exp.Schema) else None
                columns = spec.expressions if isinstance(spec, exp.Schema) else []
                names = self.columns_of(table, columns, "unique constraint")
                if names:
                    table.unique.append(Unique(names, name or own or None))
            elif isinstance(part, exp.CheckColumnConstraint):
                self.check(table, part.this, name)
            elif isinstance(part, (exp.IndexColumnConstraint,)):
                self.note(f"ignored index on {table.name} (indexes do not change the data)")
            elif isinstance(part, exp.PrimaryKeyColumnConstraint):  # ALTER ... ADD PRIMARY KEY
                self.problem(f"{table.name}: PRIMARY KEY without columns")
            else:
                text = part.sql(dialect=self.dialect)
                self.problem(f"{table.name}: constraint {text[:60]} is not supported")

    def columns_of(self, table: Table, items: list[Any], what: str) -> list[str]:
        names = []
        for item in items:
            raw = self.name(item.this if isinstance(item, self.exp.Ordered) else item)
            column = self.column_name(table, raw)
            if column is None:
                self.problem(f"{table.name}.{raw}: {what} names an unknown column")
                return []
            names.append(column)
        return names

    def set_primary_key(self, table: Table, names: list[str]) -> None:
        if table.primary_key and table.primary_key != names:
            self.problem(f"{table.name}: more than one PRIMARY KEY")
            return
        table.primary_key = names

    def reference(self, table: Table, columns: list[str], ref: Any, name: str | None) -> None:
        exp = self.exp
        target = ref.this
        if isinstance(target, exp.Schema):
            parent = self.name(target.this)
            parent_columns = [self.name(e) for e in target.expressions]
        else:
            parent, parent_columns = self.name(target), []
        fk = ForeignKey(columns, parent, parent_columns, name=name)
        for option in ref.args.get("options") or []:
            text = " ".join(str(option).upper().split())
            if text == "DEFERRABLE":
                fk.deferrable = True
            elif text == "INITIALLY DEFERRED":
                fk.initially_deferred = True
            elif text.startswith("ON DELETE "):
                fk.on_delete = text[len("ON DELETE ") :]
            elif text.startswith("ON UPDATE "):
                fk.on_update = text[len("ON UPDATE ") :]
        table.foreign_keys.append(fk)

    def check(self, table: Table, expression: Any, name: str | None) -> None:
        sql = expression.sql(dialect=self.dialect)
        label = f"CHECK {name + ' ' if name else ''}({sql})"
        try:
            atoms = self.atoms(table, expression)
        except _Unsupported as exc:
            self.problem(
                f"{table.name}.{exc.column or '?'}: {label}: {exc.reason}; "
                f"supported: {SUPPORTED_SHAPES}"
                if exc.column
                else f"{table.name}: {label}: {exc.reason}; supported: {SUPPORTED_SHAPES}"
            )
            return
        table.checks.append(Check(atoms, name=name, sql=sql))
        for atom in atoms:  # a text column's IN list is its categories
            column = table.column(atom.column)
            if atom.op == "in" and column.type.is_text and not atom.length:
                column.labels = [str(v) for v in atom.values]

    def atoms(self, table: Table, e: Any) -> list[Atom]:
        exp = self.exp
        e = _strip(e, exp)
        if isinstance(e, exp.And):
            return self.atoms(table, e.this) + self.atoms(table, e.expression)
        if isinstance(e, exp.Between):
            column, length = self.operand_column(table, e.this)
            lo, hi = self.literal(e.args["low"]), self.literal(e.args["high"])
            return [
                Atom(">=", column, [lo], length=length),
                Atom("<=", column, [hi], length=length),
            ]
        if isinstance(e, exp.In) or (
            isinstance(e, exp.Not) and isinstance(_strip(e.this, exp), exp.In)
        ):
            negated = isinstance(e, exp.Not)
            e = _strip(e.this, exp) if negated else e
            column, length = self.operand_column(table, e.this)
            values = [self.literal(v) for v in e.expressions]
            return [Atom("not_in" if negated else "in", column, values, length=length)]
        if isinstance(e, exp.Is) and isinstance(e.expression, exp.Null) and e.args.get("negate"):
            column, _ = self.operand_column(table, e.this)
            return [Atom("not_null", column)]
        if isinstance(e, exp.Not) and isinstance(_strip(e.this, exp), exp.Is):
            inner = _strip(e.this, exp)
            if isinstance(inner.expression, exp.Null):
                column, _ = self.operand_column(table, inner.this)
                return [Atom("not_null", column)]
        ops = {exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">=", exp.EQ: "=", exp.NEQ: "<>"}
        if type(e) in ops:
            op = ops[type(e)]
            left, right = _strip(e.this, exp), _strip(e.expression, exp)
            if isinstance(right, exp.Any) and op == "=":  # PostgreSQL's col = ANY (ARRAY[...])
                array = _strip(right.this, exp)
                if isinstance(array, exp.Array):
                    column, length = self.operand_column(table, left)
                    values = [self.literal(v) for v in array.expressions]
                    return [Atom("in", column, values, length=length)]
            if self.is_column(left) and self.is_column(right):
                column, length = self.operand_column(table, left)
                other, other_length = self.operand_column(table, right)
                if length or other_length:
                    raise _Unsupported("length() compared with a column", column)
                return [Atom(op, column, other=other)]
            if not self.is_column(left):  # literal on the left: flip
                left, right, op = right, left, _FLIP[op]
            column, length = self.operand_column(table, left)
            return [Atom(op, column, [self.literal(right)], length=length)]
        raise _Unsupported(f"{type(e).__name__} is not a supported shape")

    def is_column(self, e: Any) -> bool:
        exp = self.exp
        e = _strip(e, exp)
        return isinstance(e, exp.Column) or (isinstance(e, exp.Length) and self.is_column(e.this))

    def operand_column(self, table: Table, e: Any) -> tuple[str, bool]:
        exp = self.exp
        e = _strip(e, exp)
        length = False
        if isinstance(e, exp.Length):
            e, length = _strip(e.this, exp), True
        if not isinstance(e, exp.Column):
            raise _Unsupported(f"{e.sql()} is not a column")
        raw = self.name(e)
        column = self.column_name(table, raw)
        if column is None:
            raise _Unsupported(f"unknown column {raw}", raw)
        return column, length

    def literal(self, e: Any) -> Any:
        exp = self.exp
        e = _strip(e, exp)
        sign = 1
        if isinstance(e, exp.Neg):
            e, sign = _strip(e.this, exp), -1
        if isinstance(e, exp.Boolean):
            return bool(e.this)
        if isinstance(e, exp.Literal):
            if e.is_string:
                return e.this
            text = e.this
            value = int(text) if text.lstrip("-").isdigit() else float(text)
            return sign * value
        raise _Unsupported(f"{e.sql()} is not a constant")


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}
assert set(_FLIP) == set(COMPARISONS)


class _Unsupported(Exception):
    def __init__(self, reason: str, column: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.column = column


def _strip(e: Any, exp: Any) -> Any:
    """Without parentheses and casts (``(price)::numeric``, ``'2020-01-01'::date``)."""
    while isinstance(e, (exp.Paren, exp.Cast)):
        e = e.this
    return e


def _is_int_param(p: Any, exp: Any) -> bool:
    return (
        isinstance(p, exp.DataTypeParam)
        and isinstance(p.this, exp.Literal)
        and not p.this.is_string
        and p.this.this.isdigit()
    )
