"""RelBench v3 and Parquet folders: written by ``generate`` (relbench://, parquet://)
and ``export``, read back by relbench 3 itself, and loaded into every engine by
``import`` with keys enforced and checksums equal to the original database."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import plurel_sql
from plurel_sql.cli import main
from plurel_sql.errors import DatabaseError, PlurelError
from plurel_sql.interop.export import export
from plurel_sql.interop.folder import write_folder
from plurel_sql.interop.importer import import_folder
from plurel_sql.materialize.meta import read_meta

relbench = pytest.importorskip("relbench")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "schemas"
SEED = 3


@pytest.fixture(scope="module")
def duck(tmp_path_factory, small_config) -> str:
    """A small random database in DuckDB (the reference for every comparison)."""
    url = f"duckdb:///{tmp_path_factory.mktemp('duck') / 'src.duckdb'}"
    plurel_sql.generate(url, SEED, small_config)
    return url


@pytest.fixture(scope="module")
def exported(tmp_path_factory, duck) -> Path:
    out = tmp_path_factory.mktemp("export") / "rb"
    export(duck, out, "relbench")
    return out


def _engine_url(engine: str, tmp_path: Path, request) -> str:
    if engine == "postgresql":
        return request.getfixturevalue("pg_schema_url")
    return f"{engine}:///{tmp_path / f'imported.{engine}'}"


# ---------------------------------------------------------------- RelBench reads it


def test_relbench_reads_the_export_with_keys_time_columns_and_cutoffs(exported, duck):
    meta = read_meta(duck)
    schema = meta["schema"]
    ds = relbench.load_dataset(exported)
    db = ds.make_db()
    assert sorted(db.table_dict) == sorted(schema.table_names)
    for table in schema.tables:
        got = db.table_dict[table.name]
        assert got.pkey_col == table.primary_key[0]
        assert got.time_col == table.time_column
        assert got.fkey_col_to_pkey_table == {fk.column: fk.parent for fk in table.foreign_keys}
        assert len(got.df) == meta["row_counts"][table.name]
        assert list(got.df.columns) == table.column_names()
    # our cut-offs are exclusive, RelBench's inclusive: one microsecond earlier
    val = np.datetime64(schema.val_cutoff) - np.timedelta64(1, "us")
    assert ds.val_timestamp.to_datetime64() == val
    db = ds.get_db()  # RelBench's own checks: keys 0..n-1, cut at the test timestamp
    test = np.datetime64(schema.test_cutoff)
    for table in schema.tables:
        if table.time_column:
            assert (db.table_dict[table.name].df[table.time_column] < test).all()


def test_relbench_tasks_have_the_split_sizes_of_ours(exported, duck):
    ds = relbench.load_dataset(exported)
    names = ds.get_task_names()
    db = plurel_sql.open_database(duck)
    timed = {t.name for t in db.schema.tables if t.time_column}
    ours = {t.name: t for t in db.tasks() if t.table in timed}
    db.close()
    assert names and set(names) == set(ours)
    for name in names:
        task = ds.load_task(name)
        sizes = {s: len(task.get_table(s).df) for s in ("train", "val", "test")}
        assert sizes == ours[name].sizes, name
        assert task.target_col == ours[name].column
        expected = "regression" if ours[name].kind == "regression" else "classification"
        assert expected in task.task_type.value


def test_generate_to_relbench_and_parquet_equals_duckdb(tmp_path, duck, small_config):
    reference = read_meta(duck)["checksums"]
    for scheme in ("relbench", "parquet"):
        result = plurel_sql.generate(f"{scheme}:///{tmp_path / scheme}", SEED, small_config)
        assert result.checksums == reference, scheme
        side = json.loads((tmp_path / scheme / "plurel.json").read_text())
        assert json.loads(side["meta"]["checksums"]) == reference
    # the checksums of the files themselves, read back, equal DuckDB's
    schema = read_meta(duck)["schema"]
    from plurel_sql.checksum import TableChecksum

    for table in schema.tables:
        digest = TableChecksum(table)
        for batch in pq.read_table(tmp_path / "parquet" / f"{table.name}.parquet").to_batches():
            digest.update(batch)
        assert digest.hexdigest() == reference[table.name]
    ds = relbench.load_dataset(tmp_path / "relbench")
    assert set(ds.get_db().table_dict) == set(reference)


def test_parquet_layout_keeps_exact_types_and_describes_keys(tmp_path, duck):
    out = tmp_path / "plain"
    export(duck, out, "parquet")
    schema = read_meta(duck)["schema"]
    side = json.loads((out / "plurel.json").read_text())
    assert side["layout"] == "parquet"
    from plurel_sql.schema.arrow import arrow_schema

    for table in schema.tables:
        path = out / f"{table.name}.parquet"
        assert pq.read_schema(path).remove_metadata() == arrow_schema(table)
        assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
        entry = side["tables"][table.name]
        assert entry["primary_key"] == table.primary_key
        assert [fk["parent"] for fk in entry["foreign_keys"]] == table.parents


# --------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "engine", ["duckdb", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
@pytest.mark.parametrize("layout", ["relbench", "parquet"])
def test_export_import_verify_round_trip(engine, layout, tmp_path, duck, request):
    folder = tmp_path / layout
    export(duck, folder, layout)
    url = _engine_url(engine, tmp_path, request)
    result = import_folder(folder, url)
    original = read_meta(duck)
    assert result.checksums == original["checksums"]
    report = plurel_sql.verify(url)
    assert report.ok, report.problems
    assert report.checksums == original["checksums"]
    back = read_meta(url)
    assert back["seed"] == original["seed"]
    assert back["schema"].to_json() == original["schema"].to_json()


@pytest.mark.parametrize("fixture", ["org.sql", "events_pg.sql", "mysql_shop.sql", "tpch.sql"])
def test_users_schemas_export_what_relbench_holds_and_import_losslessly(tmp_path, fixture):
    folder = tmp_path / "rb"
    result = plurel_sql.generate(f"relbench:///{folder}", 0, schema_sql=FIXTURES / fixture)
    side = json.loads((folder / "plurel.json").read_text())
    ds = relbench.load_dataset(folder)
    db = ds.get_db()  # composite / UUID / text keys are left out, never break RelBench
    for name, entry in side["tables"].items():
        rb = entry["relbench"]
        assert db.table_dict[name].pkey_col == rb["pkey"]
        assert db.table_dict[name].fkey_col_to_pkey_table == rb["fkeys"]
        if rb["pkey"] is None and entry["primary_key"]:
            assert any("primary key" in note for note in rb["notes"])
    for name in ds.get_task_names():
        task = ds.load_task(name)
        assert len(task.get_table("train").df) > 0
    url = f"duckdb:///{tmp_path / 'back.duckdb'}"
    back = import_folder(folder, url)
    assert back.checksums == result.checksums  # UUIDs, NUMERIC, dates cast back
    assert plurel_sql.verify(url).ok


def test_a_relbench_dataset_written_by_relbench_imports_with_keys(tmp_path):
    """A folder RelBench's own manifest classes wrote (no plurel.json): keys from the
    manifest, a self reference, and a dangling foreign key made NULL as RelBench does."""
    from relbench.manifest import DatasetManifest, TableSpec

    root = tmp_path / "ds"
    (root / "db").mkdir(parents=True)
    users = pa.table(
        {
            "user_id": pa.array([0, 1, 2], pa.int64()),
            "referrer": pa.array([None, 0, 1], pa.int64()),
            "name": ["a", "b", "c"],
            "joined": pa.array(
                np.array(["2020-01-01", "2020-02-01", "2020-03-01"], "datetime64[us]")
            ),
        }
    )
    orders = pa.table(
        {
            "order_id": pa.array([0, 1, 2, 3], pa.int64()),
            "user_id": pa.array([0, 2, 7, None], pa.int64()),  # 7 matches no user
            "amount": [1.5, 2.5, None, 4.0],
            "at": pa.array(
                np.array(["2020-01-05", "2020-02-05", "2020-03-05", "2020-04-05"], "datetime64[us]")
            ),
        }
    )
    pq.write_table(users, root / "db" / "users.parquet")
    pq.write_table(orders, root / "db" / "orders.parquet")
    DatasetManifest(
        name="toy",
        val_timestamp="2020-02-15",
        test_timestamp="2020-03-15",
        tables={
            "orders": TableSpec("order_id", "at", {"user_id": "users"}),
            "users": TableSpec("user_id", "joined", {"referrer": "users"}),
        },
    ).save(root / "manifest.yaml")
    assert len(relbench.load_dataset(root).get_db(upto_test_timestamp=False).table_dict) == 2
    url = f"duckdb:///{tmp_path / 'toy.duckdb'}"
    result = import_folder(root, url)
    assert result.row_counts == {"users": 3, "orders": 4}
    assert plurel_sql.verify(url).ok
    meta = read_meta(url)
    schema = meta["schema"]
    assert schema.table_names == ["users", "orders"]  # parents first
    assert schema.table("orders").foreign_keys[0].parent == "users"
    assert schema.val_cutoff == "2020-02-15T00:00:01"
    import duckdb

    con = duckdb.connect(str(tmp_path / "toy.duckdb"), read_only=True)
    assert con.execute("SELECT user_id FROM orders ORDER BY order_id").fetchall() == [
        (0,),
        (2,),
        (None,),
        (None,),
    ]
    with pytest.raises(duckdb.ConstraintException):  # the key is enforced
        con.close()
        con = duckdb.connect(str(tmp_path / "toy.duckdb"))
        con.execute("INSERT INTO orders VALUES (9, 99, 1.0, TIMESTAMP '2020-01-01')")
    con.close()


# ----------------------------------------------------------- atomic, one-line errors


class _Failing:
    """A batch source that fails after its first table."""

    def __init__(self, source):
        self.inner = source
        self.planned_schema = source.planned_schema

    @property
    def final_schema(self):
        return self.inner.final_schema

    def batches(self):
        first = None
        for table, batch in self.inner.batches():
            if first not in (None, table.name):
                raise RuntimeError("killed mid-write")
            first = table.name
            yield table, batch


def test_a_failed_write_leaves_nothing_and_the_previous_folder_intact(tmp_path, small_config):
    from plurel_sql.generator.stream import DatabaseGenerator

    target = tmp_path / "out"
    plurel_sql.generate(f"relbench:///{target}", SEED, small_config)
    before = sorted(p.relative_to(target) for p in target.rglob("*"))
    source = _Failing(DatabaseGenerator(small_config, SEED + 1))
    with pytest.raises(RuntimeError, match="killed"):
        write_folder(source, target, "relbench", seed=SEED + 1, config={}, where="x", replace=True)
    assert sorted(p.relative_to(target) for p in target.rglob("*")) == before
    assert os.listdir(tmp_path) == ["out"]  # no temporary folder left
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError):
        write_folder(
            _Failing(DatabaseGenerator(small_config, 1)),
            fresh,
            "parquet",
            seed=1,
            config={},
            where="x",
        )
    assert not fresh.exists() and os.listdir(tmp_path) == ["out"]


def test_a_failed_import_leaves_no_database(tmp_path, exported):
    broken = tmp_path / "broken"
    import shutil

    shutil.copytree(exported, broken)
    last = sorted((broken / "db").glob("*.parquet"))[-1]
    last.write_bytes(b"not parquet")
    target = tmp_path / "t.duckdb"
    with pytest.raises(DatabaseError, match="not a readable Parquet file"):
        import_folder(broken, f"duckdb:///{target}")
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_existing_folders_need_replace_and_foreign_ones_are_never_replaced(tmp_path, duck):
    out = tmp_path / "out"
    export(duck, out)
    with pytest.raises(DatabaseError, match="pass --replace"):
        export(duck, out)
    export(duck, out, "parquet", replace=True)
    assert json.loads((out / "plurel.json").read_text())["layout"] == "parquet"
    assert not (out / "manifest.yaml").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(DatabaseError, match="did not write"):
        export(duck, mine, replace=True)
    assert (mine / "notes.txt").read_text() == "keep me"


def test_cli_export_import_and_one_line_errors(tmp_path, duck, capsys):
    folder = tmp_path / "cli"
    assert main(["export", duck, str(folder), "--quiet"]) == 0
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    assert main(["import", str(folder), "--url", url, "--quiet"]) == 0
    assert main(["verify", url, "--quiet"]) == 0
    capsys.readouterr()
    for argv in (
        ["describe", f"parquet:///{folder}"],
        ["import", str(tmp_path / "nothing"), "--url", url],
        ["import", str(folder), "--url", f"relbench:///{tmp_path / 'x'}"],
        ["export", f"duckdb:///{tmp_path / 'missing.duckdb'}", str(tmp_path / "y")],
        ["generate", "--seed", "0", "--url", "relbench://host/x"],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("plurel-sql: error: "), (argv, err)


def test_generate_many_writes_relbench_folders(tmp_path, small_config):
    template = f"relbench:///{tmp_path}/db_{{seed}}"
    results = plurel_sql.generate_many("0-1", template, small_config)
    assert [r.error for r in results] == [None, None]
    for seed in (0, 1):
        ds = relbench.load_dataset(tmp_path / f"db_{seed}")
        assert ds.get_db().table_dict


def test_folders_are_not_databases(tmp_path, exported):
    with pytest.raises(PlurelError, match="not a database"):
        plurel_sql.open_database(f"relbench:///{exported}")
    with pytest.raises(PlurelError, match="not a database"):
        plurel_sql.fill(f"parquet:///{tmp_path / 'p'}")


def test_verify_checks_a_folder_by_loading_it_with_its_keys(tmp_path, duck):
    import pyarrow.compute as pc

    for layout in ("relbench", "parquet"):
        export(duck, tmp_path / layout, layout)
        report = plurel_sql.verify(f"{layout}:///{tmp_path / layout}")
        assert report.ok, report.problems
        assert report.checksums == read_meta(duck)["checksums"]
    schema = read_meta(duck)["schema"]
    child = next(t for t in schema.tables if t.foreign_keys)
    path = tmp_path / "parquet" / f"{child.name}.parquet"
    table = pq.read_table(path)
    fk = child.foreign_keys[0].column
    i = table.schema.get_field_index(fk)
    pq.write_table(table.set_column(i, fk, pc.add(table.column(fk), 10**9)), path)
    report = plurel_sql.verify(f"parquet:///{tmp_path / 'parquet'}")
    assert not report.ok and "foreign key" in report.problems[0]
    feature = next(c.name for c in child.columns if c.type.name == "double")
    path = tmp_path / "relbench" / "db" / f"{child.name}.parquet"
    table = pq.read_table(path)
    i = table.schema.get_field_index(feature)
    pq.write_table(table.set_column(i, feature, pc.add(table.column(feature), 1.0)), path)
    report = plurel_sql.verify(f"relbench:///{tmp_path / 'relbench'}")
    assert report.problems == [f"{child.name}: checksum differs from plurel.json"]
