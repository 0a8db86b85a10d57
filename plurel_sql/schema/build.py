"""Declared tables (from DDL, a live database or models) -> a complete Schema IR.

Checks everything the generator must be able to honour and reports every problem at
once (:class:`~plurel_sql.errors.SchemaProblems`, one line each naming table and
column); then orders the tables, picks the foreign key that closes each cycle,
decides kinds, time columns, categories and row counts (drawn from the
configuration, capped where a constraint needs it), and draws the time window.
"""

from __future__ import annotations

from collections.abc import Sequence

from plurel_sql.config import Config
from plurel_sql.errors import SchemaProblems
from plurel_sql.schema.domains import column_domain
from plurel_sql.schema.ir import Column, ForeignKey, Schema, Table
from plurel_sql.schema.keys import plan_keys, unique_sets
from plurel_sql.schema.sample import sample_time_window
from plurel_sql.values.overrides import check_overrides
from plurel_sql.values.plan import check_column_overrides, text_categories
from plurel_sql.values.rows import check_capacity, role_rows

TIME_TYPES = ("date", "timestamp", "timestamptz")


def finish_schema(
    tables: Sequence[Table],
    config: Config,
    seed: int,
    origin: str,
    problems: Sequence[str] = (),
) -> Schema:
    """The Schema IR of ``tables`` (declared order); raises SchemaProblems listing
    ``problems`` and every one found here."""
    found = list(problems)
    by_name = {t.name: t for t in tables}
    for table in tables:
        found += _foreign_key_problems(table, by_name)
        found += plan_keys(table)[1]
        if not table.columns:
            found.append(f"{table.name}: no columns")
    if not found:  # cycles are searched among valid foreign keys only
        found += _close_cycles(list(tables), by_name)
    for table in tables:
        found += _check_problems(table)
    if found:
        raise SchemaProblems(_unique(found))
    check_overrides(config.rows, config.columns, tables)
    ordered = _dependency_order(list(tables))
    window = sample_time_window(config, seed)[:2]
    referenced = {fk.parent for t in ordered for fk in t.foreign_keys if fk.parent != t.name}
    referenced |= {t.name for t in ordered if any(fk.parent == t.name for fk in t.foreign_keys)}
    rows: dict[str, int] = {}
    for table in ordered:
        table.kind = "entity" if table.name in referenced else "activity"
        table.time_column = _time_column(table)
        for column in table.features:
            _set_categories(table, column, config, seed, window)
        wanted = role_rows(table, ordered, config, seed)
        table.num_rows = row_capacity(table, wanted, rows)
        if table.name in config.rows:
            check_capacity(table, wanted, table.num_rows)
        rows[table.name] = table.num_rows
    check_column_overrides(config, ordered, window)
    lo, hi, val, test = sample_time_window(config, seed)
    return Schema(
        tables=ordered, min_date=lo, max_date=hi, val_cutoff=val, test_cutoff=test, origin=origin
    )


def _set_categories(
    table: Table, column: Column, config: Config, seed: int, window: tuple[str, str]
) -> None:
    """How many categories the causal model uses: 2 for a boolean, the labels of a
    categorical column; free text: none when a plausible-value rule gives its values
    (the rank of a number picks them), else a drawn count (one text label each)."""
    if column.num_categories is not None:
        return
    if column.kind == "boolean":
        column.num_categories = 2
    elif column.labels is not None:
        column.num_categories = max(len(column.labels), 1)
    elif column.kind == "text":
        column.num_categories = text_categories(table, column, config, seed, window)


def _unique(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def _foreign_key_problems(table: Table, by_name: dict[str, Table]) -> list[str]:
    problems = []
    for fk in table.foreign_keys:
        where = f"{table.name}.{', '.join(fk.columns)}"
        parent = by_name.get(fk.parent)
        if parent is None:
            problems.append(f"{where}: foreign key to unknown table {fk.parent}")
            continue
        if not fk.parent_columns:
            if not parent.primary_key:
                problems.append(f"{where}: references {fk.parent}, which has no primary key")
                continue
            fk.parent_columns = list(parent.primary_key)
        missing = [c for c in fk.parent_columns if c not in parent.column_names()]
        if missing:
            problems.append(f"{where}: references unknown column {fk.parent}.{', '.join(missing)}")
            continue
        if len(fk.parent_columns) != len(fk.columns):
            problems.append(
                f"{where}: {len(fk.columns)} column(s) reference {len(fk.parent_columns)}"
            )
            continue
        keys = [set(cols) for _label, cols in unique_sets(parent)]
        if set(fk.parent_columns) not in keys:
            problems.append(
                f"{where}: references {fk.parent} ({', '.join(fk.parent_columns)}), which is "
                "neither its primary key nor UNIQUE"
            )
    problems += _overlap_problems(table, by_name)
    return problems


def _overlap_problems(table: Table, by_name: dict[str, Table]) -> list[str]:
    """A column in two foreign keys is supported when the wider key implies the
    narrower one: the wider key's parent has the narrower key itself (TPC-H's
    lineitem (partkey, suppkey) -> partsupp, whose partkey -> part)."""
    problems = []
    fks = table.foreign_keys
    for i, a in enumerate(fks):
        for b in fks[i + 1 :]:
            shared = set(a.columns) & set(b.columns)
            if shared and not (implied(a, b, by_name) or implied(b, a, by_name)):
                problems.append(
                    f"{table.name}.{', '.join(sorted(shared))}: in foreign keys to {a.parent} "
                    f"and {b.parent} that cannot both be satisfied"
                )
    return problems


def implied(narrow: ForeignKey, wide: ForeignKey, by_name: dict[str, Table]) -> bool:
    """Whether ``wide`` (child columns -> its parent's key) guarantees ``narrow``."""
    if not set(narrow.columns) <= set(wide.columns):
        return False
    parent = by_name.get(wide.parent)
    if parent is None or len(wide.parent_columns) != len(wide.columns):
        return False
    mapping = dict(zip(wide.columns, wide.parent_columns, strict=True))
    mapped = [mapping[c] for c in narrow.columns]
    if wide.parent == narrow.parent and mapped == narrow.parent_columns:
        return True
    return any(
        fk.parent == narrow.parent
        and fk.columns == mapped
        and fk.parent_columns == narrow.parent_columns
        for fk in parent.foreign_keys
    )


def driving_foreign_keys(table: Table, by_name: dict[str, Table]) -> list[ForeignKey]:
    """The foreign keys whose links are drawn: every key not implied by a wider one."""
    out = []
    for i, fk in enumerate(table.foreign_keys):
        wider = [
            w
            for j, w in enumerate(table.foreign_keys)
            if j != i
            and set(fk.columns) <= set(w.columns)
            and (len(w.columns) > len(fk.columns) or j < i)
            and implied(fk, w, by_name)
        ]
        if not wider:
            out.append(fk)
    return out


def row_derived(table: Table, columns: list[str]) -> bool:
    """Whether ``columns`` of ``table`` are one column produced from the row number
    (what a self reference or a cycle-closing key may point at: it is known before
    the parent's rows are)."""
    return len(columns) == 1 and columns[0] in plan_keys(table)[0].row_numbers


def _closable(fk: ForeignKey, table: Table) -> bool:
    return fk.deferrable or all(table.column(c).nullable for c in fk.columns)


def _close_cycles(tables: list[Table], by_name: dict[str, Table]) -> list[str]:
    """Mark self references and one foreign key per cycle between tables as
    ``closes_cycle``; problems where that is impossible."""
    problems = []
    for table in tables:
        for fk in table.foreign_keys:
            if fk.parent != table.name:
                continue
            where = f"{table.name}.{', '.join(fk.columns)}"
            if not all(table.column(c).nullable for c in fk.columns):
                problems.append(
                    f"{where}: a self-referencing foreign key must be nullable (rows without "
                    "a parent are the roots)"
                )
            elif not row_derived(table, fk.parent_columns):
                problems.append(f"{where}: a self reference must point at a one-column key")
            fk.closes_cycle = True
    order = {t.name: i for i, t in enumerate(tables)}
    while True:
        cycle = _find_cycle(tables)
        if cycle is None:
            return problems
        candidates = [(child, fk) for child, fk in cycle if _closable(fk, child)]
        names = " -> ".join([cycle[0][0].name, *(fk.parent for _c, fk in cycle)])
        if not candidates:
            problems.append(
                f"{names}: foreign keys form a cycle and none of them is nullable or deferrable"
            )
            cycle[0][1].closes_cycle = True  # report each cycle once
            continue
        # the latest-declared child's key closes it: rows first, links after
        child, fk = max(candidates, key=lambda pair: order[pair[0].name])
        if not row_derived(by_name[fk.parent], fk.parent_columns):
            problems.append(
                f"{child.name}.{', '.join(fk.columns)}: closes the cycle {names} and must "
                "reference a one-column key"
            )
        fk.closes_cycle = True


def _find_cycle(tables: list[Table]) -> list[tuple[Table, ForeignKey]] | None:
    """One cycle of (child, foreign key) edges between distinct tables, ignoring keys
    already marked ``closes_cycle``, or None."""
    by_name = {t.name: t for t in tables}
    state: dict[str, int] = {}
    path: list[tuple[Table, ForeignKey]] = []

    def visit(table: Table) -> list[tuple[Table, ForeignKey]] | None:
        state[table.name] = 1
        for fk in table.foreign_keys:
            if fk.closes_cycle or fk.parent == table.name or fk.parent not in by_name:
                continue
            path.append((table, fk))
            if state.get(fk.parent) == 1:
                start = next(i for i, (t, _) in enumerate(path) if t.name == fk.parent)
                return path[start:]
            if fk.parent not in state:
                found = visit(by_name[fk.parent])
                if found:
                    return found
            path.pop()
        state[table.name] = 2
        return None

    for table in tables:
        if table.name not in state:
            found = visit(table)
            if found:
                return found
    return None


def _dependency_order(tables: list[Table]) -> list[Table]:
    """Parents before children (ignoring cycle-closing keys), declared order otherwise."""
    done: set[str] = set()
    order: list[Table] = []
    remaining = list(tables)
    while remaining:
        for table in remaining:
            parents = {fk.parent for fk in table.foreign_keys if not fk.closes_cycle}
            if parents <= done:
                break
        remaining.remove(table)
        order.append(table)
        done.add(table.name)
    return order


def _time_column(table: Table) -> str | None:
    """The first DATE/TIMESTAMP column that is not a key column."""
    keys = table.link_columns() | plan_keys(table)[0].generated
    for column in table.columns:
        if column.type.name in TIME_TYPES and column.name not in keys:
            return column.name
    return None


def _check_problems(table: Table) -> list[str]:
    """CHECKs whose conditions no value of the column's type satisfies."""
    problems = []
    for column in table.columns:
        problems += column_domain(table, column).problems
    return problems


def row_capacity(table: Table, wanted: int, rows: dict[str, int]) -> int:
    """``wanted`` rows, capped where a constraint needs it: a one-to-one foreign key
    (at most one row per parent row), a bridge table (at most half of the distinct
    parent tuples, so that distinct tuples are found quickly), and a column unique by
    itself whose type has fewer values."""
    from plurel_sql.generator.keys import unique_capacity

    plan, _ = plan_keys(table)
    cap = wanted
    for i in plan.one_to_one:
        cap = min(cap, rows.get(table.foreign_keys[i].parent, cap))
    for columns in plan.distinct_links:
        product = 1
        for fk in table.foreign_keys:
            if set(fk.columns) <= set(columns) and fk.parent != table.name:
                product *= rows.get(fk.parent, 1)
        cap = min(cap, max(1, product // 2))
    for name in plan.row_numbers:
        cap = min(cap, unique_capacity(table, table.column(name)))
    return max(cap, 0)
