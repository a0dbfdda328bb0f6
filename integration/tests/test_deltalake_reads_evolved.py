"""deltalake (delta-rs) reads tables whose schema Tidemark evolved, at every version.

What Tidemark writes (spec/PROTOCOL.md §8, "Schema evolution"):

    tidemark write TABLE INPUT --schema-mode merge      new columns (nullable), missing columns
                                                        as nulls: a new metaData, same protocol
    tidemark write TABLE INPUT --schema-mode merge      with a wider type (int -> long, ...):
                                                        also protocol 3/7 + typeWidening, and
                                                        delta.typeChanges in the field metadata
    tidemark alter TABLE rename-column|drop-column ...  column mapping mode name: protocol 3/7 +
                                                        columnMapping (the table already uses
                                                        writer features), or 2/5 on a legacy one

Where deltalake 1.6.6 refuses:

- type widening: reading (to_pyarrow_table; opening the table succeeds) a version whose
  protocol lists the reader feature typeWidening is refused with
  DeltaProtocolError "The table has set these reader features: {'typeWidening'} but these are
  not yet supported by the deltalake reader." Versions before the widening still read.
- column mapping: likewise, with {'columnMapping'}, for every version after the first rename or
  drop. Versions before it still read.

Merged columns need no table feature: deltalake reads every version, with the rows the test
wrote and the same schema `tidemark describe` reports.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake.exceptions import DeltaProtocolError

from conftest import (
    arrow_rows,
    check_versions_agree,
    concat_rows,
    deltalake_rows,
    deltalake_table,
    parse_version_line,
    tidemark,
    tidemark_rows,
    assert_same_rows,
)


def parquet(dir: Path, name: str, table: pa.Table) -> Path:
    path = dir / name
    pq.write_table(table, path)
    return path


def refusal(feature: str) -> str:
    return (
        f"The table has set these reader features: {{'{feature}'}} but these are not yet "
        "supported by the deltalake reader."
    )


def test_merged_columns_read_at_every_version(tmp_path: Path) -> None:
    table = tmp_path / "merged"
    v0 = pa.table({"id": pa.array([1, 2], pa.int64()), "name": ["a", "b"]})
    v1 = pa.table({"id": pa.array([3], pa.int64()), "score": pa.array([0.5], pa.float64())})
    v2 = pa.table({"id": pa.array([4], pa.int64()), "name": ["d"], "score": pa.array([1.5], pa.float64())})
    assert parse_version_line(tidemark("write", table, parquet(tmp_path, "0.parquet", v0)).stdout) == 0
    out = tidemark("write", table, parquet(tmp_path, "1.parquet", v1), "--schema-mode", "merge").stdout
    assert parse_version_line(out) == 1
    assert parse_version_line(
        tidemark("write", table, parquet(tmp_path, "2.parquet", v2), "--schema-mode", "merge").stdout
    ) == 2

    full = pa.schema([("id", pa.int64()), ("name", pa.string()), ("score", pa.float64())])

    def widen(t: pa.Table) -> pa.Table:
        for field in full:
            if field.name not in t.column_names:
                t = t.append_column(field, pa.nulls(len(t), field.type))
        return t.select(full.names)

    expected = [
        arrow_rows(v0),
        concat_rows(arrow_rows(widen(v0)), arrow_rows(widen(v1))),
        concat_rows(arrow_rows(widen(v0)), arrow_rows(widen(v1)), arrow_rows(widen(v2))),
    ]
    check_versions_agree(table, expected, "merged columns")
    protocol = deltalake_table(table).protocol()
    assert (protocol.min_reader_version, protocol.min_writer_version) == (1, 7)


def test_type_widening_is_refused_by_deltalake_after_the_widening(tmp_path: Path) -> None:
    table = tmp_path / "widened"
    v0 = pa.table({"id": pa.array([1, 2], pa.int32())})
    v1 = pa.table({"id": pa.array([5_000_000_000], pa.int64())})
    tidemark("write", table, parquet(tmp_path, "0.parquet", v0))
    tidemark("write", table, parquet(tmp_path, "1.parquet", v1), "--schema-mode", "merge")
    # Before the widening, both read the same.
    assert_same_rows(arrow_rows(v0), deltalake_rows(table, 0), "widened version 0", "expected", "deltalake")
    assert_same_rows(arrow_rows(v0), tidemark_rows(table, 0), "widened version 0", "expected", "tidemark")
    # After it, tidemark reads the old file widened; deltalake refuses the feature.
    widened = pa.table({"id": pa.array([1, 2, 5_000_000_000], pa.int64())})
    assert_same_rows(arrow_rows(widened), tidemark_rows(table, 1), "widened version 1", "expected", "tidemark")
    with pytest.raises(DeltaProtocolError) as refused:
        deltalake_rows(table, 1)
    assert str(refused.value) == refusal("typeWidening")


def test_column_mapping_is_refused_by_deltalake_after_a_rename(tmp_path: Path) -> None:
    table = tmp_path / "renamed"
    v0 = pa.table({"id": pa.array([1, 2], pa.int64()), "name": ["a", "b"]})
    tidemark("write", table, parquet(tmp_path, "0.parquet", v0))
    tidemark("alter", table, "rename-column", "name", "label")
    tidemark("alter", table, "drop-column", "id")
    assert_same_rows(arrow_rows(v0), deltalake_rows(table, 0), "renamed version 0", "expected", "deltalake")
    assert_same_rows(
        arrow_rows(pa.table({"id": pa.array([1, 2], pa.int64()), "label": ["a", "b"]})),
        tidemark_rows(table, 1),
        "renamed version 1",
        "expected",
        "tidemark",
    )
    assert_same_rows(arrow_rows(pa.table({"label": ["a", "b"]})), tidemark_rows(table, 2), "version 2", "expected", "tidemark")
    for version in (1, 2):
        with pytest.raises(DeltaProtocolError) as refused:
            deltalake_rows(table, version)
        assert str(refused.value) == refusal("columnMapping")
