"""The architecture's promises, checked: one URL parse and one connection per read
command, the dialect registry, an acyclic import graph, a cheap torch-free
``import plurel_sql`` and the public API's names."""

from __future__ import annotations

import ast
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from loader_fixtures import generate_db

import plurel_sql
from plurel_sql.cli import main
from plurel_sql.dialects import create_engine, parse_url, registry
from plurel_sql.dialects.sqlite import SQLiteDialect
from plurel_sql.dialects.url import DatabaseURL
from plurel_sql.loader.source import ContextSource

ROOT = Path(__file__).resolve().parent.parent
MANY_TABLES = {
    "num_tables": [8, 8],
    "entity_rows": [40, 80],
    "activity_rows": [100, 200],
    "feature_columns": [2, 4],
}


@pytest.fixture(scope="module")
def wide_duck(tmp_path_factory) -> str:
    """A DuckDB database with 8 tables."""
    url = generate_db(
        f"duckdb:///{tmp_path_factory.mktemp('arch') / 'wide.duckdb'}", 4, MANY_TABLES
    )
    assert len(plurel_sql.open_database(url).schema.tables) == 8
    return url


@pytest.fixture
def counts(monkeypatch) -> Counter:
    """Counts URL parses (DatabaseURL constructions) and native connections opened
    (DuckDB, SQLite and PostgreSQL drivers)."""
    import sqlite3

    import duckdb_engine  # noqa: F401  its first import opens a probe connection (:memory:)
    import psycopg

    seen: Counter = Counter()
    real_init = DatabaseURL.__init__

    def init(self, *args, **kwargs):
        seen["parse"] += 1
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(DatabaseURL, "__init__", init)
    for module, name in ((duckdb, "duckdb"), (sqlite3, "sqlite"), (psycopg, "postgresql")):
        real = module.connect

        def connect(*args, _real=real, _name=name, **kwargs):
            seen[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, "connect", connect)
    return seen


def test_open_database_tasks_and_sampling_parse_once_and_connect_once(wide_duck, counts):
    db = plurel_sql.open_database(wide_duck)
    assert counts == {"parse": 1, "duckdb": 1}
    found = db.tasks()
    assert len(found) > 8
    src = ContextSource(db, [found[0].name], ctx_len=64, max_width=4, batch_size=8)
    src.batch(0, 0)
    assert counts == {"parse": 1, "duckdb": 1}  # tasks, split rows and the walk reuse it
    db.close()


@pytest.mark.parametrize(
    "argv",
    [
        ["describe", "URL"],
        ["describe", "URL", "--format", "mermaid"],
        ["verify", "URL"],
        ["tasks", "URL"],
        ["sample", "URL", "--task", "TASK", "--n", "2", "--ctx-len", "64"],
    ],
)
def test_read_commands_parse_once_and_connect_once(wide_duck, counts, capsys, argv):
    task = plurel_sql.open_database(wide_duck).tasks()[0].name
    counts.clear()
    assert main([a.replace("URL", wide_duck).replace("TASK", task) for a in argv]) == 0
    assert capsys.readouterr().out
    assert counts == {"parse": 1, "duckdb": 1}


def test_generate_parses_once(tmp_path, counts, small_config):
    plurel_sql.generate(f"duckdb:///{tmp_path / 'g.duckdb'}", 1, small_config)
    assert counts["parse"] == 1


@pytest.mark.postgres
def test_postgres_read_path_uses_one_connection(pg_schema_url, counts):
    generate_db(pg_schema_url, 3)
    counts.clear()
    db = plurel_sql.open_database(pg_schema_url)
    task = db.tasks()[0]
    ContextSource(db, [task.name], ctx_len=64, max_width=4, batch_size=8).batch(0, 0)
    assert counts == {"parse": 1, "postgresql": 1}
    db.close()


# --- users' schemas keep the discipline: fill, --schema-from, drift in verify ----------

USER_DDL = (
    "CREATE TABLE shop (id INTEGER PRIMARY KEY, name VARCHAR(30) NOT NULL);"
    "CREATE TABLE sale (id INTEGER PRIMARY KEY, shop_id INTEGER NOT NULL REFERENCES shop (id),"
    " amount DECIMAL(8, 2) CHECK (amount > 0), sold_at TIMESTAMP NOT NULL)"
)


def _user_database(engine: str, path: Path) -> str:
    """An empty database holding the user's DDL, created by the engine itself."""
    if engine == "duckdb":
        con = duckdb.connect(str(path))
        con.execute(USER_DDL)
    else:
        import sqlite3

        con = sqlite3.connect(path)
        con.executescript(USER_DDL)
    con.close()
    return f"{engine}:///{path}"


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
def test_fill_and_verify_with_drift_parse_once(tmp_path, counts, small_config, engine, capsys):
    """fill reads the schema through one read-only connection and writes through its
    own; verify (with the drift check on SQLite, through SQLAlchemy) opens one."""
    url = _user_database(engine, tmp_path / f"user.{engine}")
    counts.clear()
    plurel_sql.fill(url, 1, small_config)
    assert counts == {"parse": 1, engine: 2}
    counts.clear()
    assert main(["verify", url]) == 0, capsys.readouterr()
    assert counts == {"parse": 1, engine: 1}


def test_schema_from_a_database_parses_each_url_once(tmp_path, counts, small_config):
    source = _user_database("sqlite", tmp_path / "source.sqlite")
    counts.clear()
    plurel_sql.generate(
        f"duckdb:///{tmp_path / 'copy.duckdb'}", 2, small_config, schema_from=source
    )
    assert counts == {"parse": 2, "sqlite": 1, "duckdb": 1}  # one read, one write


@pytest.mark.postgres
def test_postgres_fill_and_drift_use_one_read_connection(
    pg_schema_url, run_pg_ddl, counts, small_config
):
    run_pg_ddl(pg_schema_url, USER_DDL)
    counts.clear()
    plurel_sql.fill(pg_schema_url, 3, small_config)
    assert counts == {"parse": 1, "postgresql": 2}  # reflection reads, the writer writes
    counts.clear()
    report = plurel_sql.verify(pg_schema_url)
    assert report.ok and not report.notes, report.problems  # drift was checked
    assert counts == {"parse": 1, "postgresql": 1}


class RenamedSQLite(SQLiteDialect):
    """SQLite under another scheme: what registering an engine takes."""

    name = "renamedsqlite"


def test_registry_resolves_registered_schemes(tmp_path):
    assert registry.dialect_class("duckdb").name == "duckdb"
    assert parse_url("postgres://u@h/db").engine == "postgresql"
    registry.register(
        "renamedsqlite",
        ("renamedsqlite", "rsq"),
        f"{__name__}:RenamedSQLite",
        example="rsq:///PATH",
    )
    try:
        path = tmp_path / "r.sqlite"
        engine = create_engine(f"rsq:///{path}")
        assert type(engine.dialect) is RenamedSQLite and engine.url.path == str(path)
        plurel_sql.generate(engine, 2, {"database": MANY_TABLES})
        assert plurel_sql.verify(f"sqlite:///{path}").ok  # the same file, the usual scheme
        with pytest.raises(plurel_sql.DatabaseError, match="rsq:///PATH"):
            parse_url("nosuch:///x")
    finally:
        registry.unregister("renamedsqlite")
    with pytest.raises(plurel_sql.DatabaseError, match="unsupported URL scheme 'rsq://'"):
        parse_url(f"rsq:///{tmp_path / 'r.sqlite'}")


# --- the import graph --------------------------------------------------------------


def _modules() -> dict[str, Path | None]:
    """Every module of the package by dotted name (dialects/ ships as
    plurel_sql.dialects); compiled extensions map to None."""
    out: dict[str, Path | None] = {}
    for base, package in (
        (ROOT / "plurel_sql", "plurel_sql"),
        (ROOT / "dialects", "plurel_sql.dialects"),
    ):
        for path in base.rglob("*.py"):
            parts = [package, *path.relative_to(base).with_suffix("").parts]
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
        for path in base.rglob("*.so"):
            rel = path.relative_to(base).parent / path.name.split(".")[0]
            out[".".join([package, *rel.parts])] = None
    return out


def _imports(name: str, path: Path, modules: dict) -> set[str]:
    """Modules of the package that ``name`` imports anywhere (functions included),
    except under ``if TYPE_CHECKING:``."""
    found: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            test = node.test
            if getattr(test, "id", getattr(test, "attr", None)) == "TYPE_CHECKING":
                for child in node.orelse:
                    self.visit(child)
                return
            self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            found.update(a.name for a in node.names)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            base = node.module or ""
            if node.level:
                package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
                for _ in range(node.level - 1):
                    package = package.rsplit(".", 1)[0]
                base = f"{package}.{base}" if base else package
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)

    Visitor().visit(ast.parse(path.read_text()))
    return {m for m in found if m in modules and m != name}


def test_import_graph_has_no_cycle():
    modules = _modules()
    assert "plurel_sql.loader.meta" in modules and "plurel_sql.dialects.duckdb" in modules
    graph = {m: _imports(m, p, modules) if p else set() for m, p in modules.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for other in sorted(graph[module]):
            if state.get(other) == 1:
                cycles.append([*path[path.index(other) :], other])
            elif other not in state:
                visit(other, [*path, other])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == [], [" -> ".join(c) for c in cycles]


LOADER_MODULES = sorted(
    f"plurel_sql.loader.{p.stem}" for p in (ROOT / "plurel_sql" / "loader").glob("*.py")
)


@pytest.mark.slow
@pytest.mark.parametrize("module", LOADER_MODULES)
def test_each_loader_module_imports_alone(module):
    run = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


# --- the public API ----------------------------------------------------------------


def _fresh(code: str) -> str:
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


@pytest.mark.slow
def test_import_is_cheap_and_torch_stays_out():
    heavy = ["torch", "numpy", "pyarrow", "sqlalchemy", "duckdb", "psycopg"]
    code = f"import sys, plurel_sql; print([m for m in {heavy} if m in sys.modules])"
    assert _fresh(code) == "[]"
    names = [n for n in plurel_sql.__all__ if n != "ContextDataset"]
    code = (
        f"import sys, plurel_sql\nfor n in {names}: getattr(plurel_sql, n)\n"
        "print('torch' in sys.modules)\nplurel_sql.ContextDataset\nprint('torch' in sys.modules)"
    )
    assert _fresh(code).split() == ["False", "True"]
    # one database never loads the process pool; a reader never loads the writer
    code = "import sys, plurel_sql.orchestrate.job; print('multiprocessing' in sys.modules)"
    assert _fresh(code) == "False"
    code = "import sys, plurel_sql.loader; print('plurel_sql.materialize.writer' in sys.modules)"
    assert _fresh(code) == "False"


def test_public_names_resolve():
    assert set(plurel_sql.__all__) == set(plurel_sql._PUBLIC) | {"__version__"}
    stub = ast.parse((ROOT / "plurel_sql" / "__init__.pyi").read_text())
    stubbed = {
        a.asname or a.name for n in stub.body if isinstance(n, ast.ImportFrom) for a in n.names
    }
    assert stubbed | {"__version__"} == set(plurel_sql.__all__)  # static tools see the same
    for name in plurel_sql.__all__:
        assert getattr(plurel_sql, name) is not None, name
    assert plurel_sql.verify.__name__ == "verify_database"
    with pytest.raises(AttributeError):
        plurel_sql.no_such_name  # noqa: B018


@pytest.mark.slow
def test_generate_and_verify_do_not_import_pandas(tmp_path):
    """pyarrow imports pandas (~0.35 s) on its first conversion of a Python value;
    writing, checksumming and verifying a DuckDB database never convert one."""
    url = f"duckdb:///{tmp_path / 'nopandas.duckdb'}"
    code = (
        "import sys, plurel_sql\n"
        f"plurel_sql.generate({url!r}, 3, {{'database': {MANY_TABLES!r}}})\n"
        f"assert plurel_sql.verify({url!r}).ok\n"
        "print('pandas' in sys.modules)"
    )
    assert _fresh(code) == "False"


@pytest.mark.slow
def test_generate_is_the_function_whatever_was_imported_first(tmp_path):
    """``plurel_sql.generate`` stays the function whatever was imported before it
    (the generator package has its own name, so a submodule import cannot shadow it)."""
    url = f"duckdb:///{tmp_path / 'first.duckdb'}"
    small = (
        "{'database': {'num_tables': [2, 2], 'entity_rows': [20, 20], 'activity_rows': [30, 30]}}"
    )
    code = (
        "import plurel_sql.generator.stream as s, plurel_sql\n"
        f"r = plurel_sql.generate({url!r}, 0, {small})\n"
        "print(plurel_sql.generator.stream is s, r.rows > 0)"
    )
    assert _fresh(code) == "True True"
    code = (
        "from plurel_sql import generate\n"
        f"print(generate({url!r}, 1, {small}, replace=True).rows > 0)\n"
        "import plurel_sql.generator.mlp as m; print(m.__name__)"
    )
    assert _fresh(code).split() == ["True", "plurel_sql.generator.mlp"]


def test_every_package_ships_in_the_wheel():
    """pyproject lists packages explicitly: a new package must be added there."""
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "plurel_sql").rglob("__init__.py")
    } | {"plurel_sql.dialects"}
    assert found == listed


@pytest.mark.postgres
def test_loader_reads_postgres_with_a_select_only_role(pg_schema_url):
    """Reading needs no write privilege: a role that may only SELECT (and create the
    session's TEMP tables, which PostgreSQL grants everyone) opens, lists tasks and
    samples; writing through it is refused."""

    generate_db(pg_schema_url, 2)
    engine = create_engine(pg_schema_url)
    role, password = f"reader_{uuid.uuid4().hex[:8]}", "ro-Pass-1"
    admin = engine.connect()
    q = engine.dialect.quote
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE ROLE {q(role)} LOGIN PASSWORD '{password}'")
            cur.execute(f"GRANT USAGE ON SCHEMA {q(engine.schema)} TO {q(role)}")
            cur.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {q(engine.schema)} TO {q(role)}")
        admin.commit()
        url = engine.url.sa_url.set(drivername="postgresql", username=role, password=password)
        reader = f"{url.render_as_string(hide_password=False)}?schema={engine.schema}"
        db = plurel_sql.open_database(reader)
        task = db.tasks()[0]
        batch = ContextSource(db, [task.name], ctx_len=64, max_width=4, batch_size=8).batch(0, 0)
        assert (~batch["is_padding"]).sum() > 8
        with pytest.raises(plurel_sql.DatabaseError):
            plurel_sql.generate(reader, 3, {"database": MANY_TABLES}, replace=True)
        db.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP OWNED BY {q(role)}")
            cur.execute(f"DROP ROLE IF EXISTS {q(role)}")
        admin.commit()
        admin.close()
