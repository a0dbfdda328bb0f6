"""deltalake (delta-rs) writes tables; Tidemark reads every version of them.

For every version of every table: the rows of `tidemark scan --version N --format json` equal
deltalake's rows for that version (and, where the test keeps it, the content the test wrote),
and the schema `tidemark describe` reports equals deltalake's. `tidemark history` lists every
version, and time travel by timestamp picks the same version as deltalake.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from tables import AWKWARD, nested_table, people, scalar_types_table, timestamps_table
from conftest import (
    Rows,
    arrow_rows,
    assert_same_rows,
    check_history,
    check_versions_agree,
    commit_file,
    commit_mtime_ms,
    concat_rows,
    deltalake_rows,
    deltalake_table,
    now_ms,
    parse_rfc3339_ms,
    rfc3339_ms,
    tidemark,
    tidemark_describe,
    tidemark_parquet_rows,
    tidemark_rows,
)

UTC = dt.timezone.utc


# ---------------------------------------------------------------------------------------------
# (a) several appends, and time travel by timestamp


@pytest.fixture(scope="module")
def appended(tmp_path_factory):
    """A table of 5 versions (a create and 4 appends), with 1.1 s pauses after versions 0, 1 and
    2 and an instant taken in the middle of each pause."""
    path = tmp_path_factory.mktemp("appends") / "t"
    parts = [people(0, 5), people(5, 3), people(8, 4), people(12, 1), people(13, 6)]
    between: dict[int, int] = {}  # version k -> an instant (ms) after commit k and before commit k+1
    for v, part in enumerate(parts):
        write_deltalake(str(path), part, mode="append")
        if v in (0, 1, 2):
            time.sleep(0.55)
            between[v] = now_ms()
            time.sleep(0.55)
    expected = [concat_rows(*[arrow_rows(p) for p in parts[: v + 1]]) for v in range(len(parts))]
    return path, expected, between


def test_appends_every_version(appended):
    path, expected, _ = appended
    check_versions_agree(path, expected, "appends")


def test_appends_history(appended):
    path, expected, _ = appended
    entries = check_history(path, "appends")
    # Without in-commit timestamps both show each commit's commitInfo.timestamp. (Time travel
    # uses the commit file's modification time instead, as the protocol says; the two can differ
    # by a few ms, or by much more when files were copied: see the test below.)
    d_hist = {h["version"]: h["timestamp"] for h in deltalake_table(path).history()}
    for e in entries:
        assert parse_rfc3339_ms(e["timestamp"]) == d_hist[e["version"]], (
            f"appends version {e['version']}: tidemark history shows {e['timestamp']}, deltalake {rfc3339_ms(d_hist[e['version']])}"
        )


def test_time_travel_follows_commit_file_modification_times(tmp_path: Path):
    """Without in-commit timestamps a commit's time is its file's modification time. Here the
    files' times are moved an hour past the commitInfo timestamps (as after a copy), so a reader
    using commitInfo.timestamp would pick other versions."""
    path = tmp_path / "t"
    parts = [people(0, 2), people(2, 2), people(4, 2)]
    for part in parts:
        write_deltalake(str(path), part, mode="append")
    base = now_ms() // 1000 + 3600
    for v in range(3):
        os.utime(commit_file(path, v), (base + 10 * v, base + 10 * v))
    expected = [concat_rows(*[arrow_rows(p) for p in parts[: v + 1]]) for v in range(3)]
    for v in range(3):
        instant_ms = (base + 10 * v + 5) * 1000
        as_of = dt.datetime.fromtimestamp(instant_ms / 1000, UTC)
        d_version = deltalake_table(path, as_of=as_of).version()
        t_version = tidemark_describe(path, timestamp=rfc3339_ms(instant_ms))["version"]
        assert (d_version, t_version) == (v, v), f"at {as_of.isoformat()}: deltalake picked {d_version}, tidemark {t_version}, expected {v}"
        assert_same_rows(expected[v], tidemark_rows(path, timestamp=rfc3339_ms(instant_ms)), f"mtime-travel at {as_of.isoformat()}", "expected", "tidemark scan --timestamp")
    # An instant after every commitInfo.timestamp but before the first file time reads nothing.
    proc = tidemark("describe", path, "--timestamp", rfc3339_ms((base - 5) * 1000), check=False)
    assert proc.returncode != 0, f"tidemark read a version at an instant before every commit file's time: {proc.stdout[:300]!r}"


def test_appends_time_travel_by_timestamp(appended):
    path, expected, between = appended
    # An instant between two commits reads the earlier one, in Tidemark and in deltalake.
    for version, instant_ms in between.items():
        instant = rfc3339_ms(instant_ms)
        described = tidemark_describe(path, timestamp=instant)
        assert described["version"] == version, f"tidemark --timestamp {instant} picked version {described['version']}, expected {version}"
        assert_same_rows(expected[version], tidemark_rows(path, timestamp=instant), f"appends at {instant}", "expected", "tidemark scan --timestamp")
        as_of = dt.datetime.fromtimestamp(instant_ms / 1000, UTC)
        d_version = deltalake_table(path, as_of=as_of).version()
        assert d_version == version, f"deltalake load_as_version({as_of}) picked {d_version}, expected {version}"
        assert_same_rows(deltalake_rows(path, as_of=as_of), tidemark_rows(path, timestamp=instant), f"appends at {instant}", "deltalake", "tidemark scan --timestamp")

    # A commit's own timestamp reads that commit (the newest at or before the instant).
    mtimes = [commit_mtime_ms(path, v) for v in range(len(expected))]
    for v, m in enumerate(mtimes):
        want = max(w for w, mw in enumerate(mtimes) if mw <= m)
        got = tidemark_describe(path, timestamp=rfc3339_ms(m))["version"]
        assert got == want, f"tidemark --timestamp {rfc3339_ms(m)} (commit {v}'s time) picked version {got}, expected {want}"

    # Before the first commit there is nothing to read.
    early = rfc3339_ms(mtimes[0] - 60_000)
    proc = tidemark("scan", path, "--timestamp", early, "--format", "json", check=False)
    assert proc.returncode != 0, f"tidemark scan --timestamp {early} (before version 0) succeeded: {proc.stdout[:500]!r}"


# ---------------------------------------------------------------------------------------------
# (b) append, overwrite, delete, replace-where; schema changes


def test_append_then_overwrite(tmp_path: Path):
    path = tmp_path / "t"
    expected: list[Rows] = []
    write_deltalake(str(path), people(0, 4))  # v0
    expected.append(arrow_rows(people(0, 4)))
    write_deltalake(str(path), people(4, 4), mode="append")  # v1
    expected.append(arrow_rows(pa.concat_tables([people(0, 4), people(4, 4)])))
    write_deltalake(str(path), people(100, 3), mode="overwrite")  # v2
    expected.append(arrow_rows(people(100, 3)))
    write_deltalake(str(path), people(200, 2), mode="append")  # v3
    current = pa.concat_tables([people(100, 3), people(200, 2)])
    expected.append(arrow_rows(current))
    DeltaTable(str(path)).delete("id = 101")  # v4: rewrites a file without that row
    current = current.filter(pa.compute.not_equal(current["id"], 101))
    expected.append(arrow_rows(current))
    # v5: replace the rows with id >= 200 by new ones
    write_deltalake(str(path), people(250, 3), mode="overwrite", predicate="id >= 200")
    current = pa.concat_tables([current.filter(pa.compute.less(current["id"], 200)), people(250, 3)])
    expected.append(arrow_rows(current))
    write_deltalake(str(path), people(0, 0), mode="overwrite")  # v6: empty
    expected.append(arrow_rows(people(0, 0)))
    check_versions_agree(path, expected, "append-then-overwrite")
    check_history(path, "append-then-overwrite")


def test_schema_changes(tmp_path: Path):
    path = tmp_path / "t"
    v0 = pa.table({"id": pa.array([1, 2], pa.int64()), "name": pa.array(["a", None])})
    v1 = pa.table({"id": pa.array([3], pa.int64()), "name": pa.array(["c"]), "extra": pa.array([0.5])})
    v2 = pa.table({"key": pa.array(["k1", "k2"]), "amount": pa.array([10, 20], pa.int32())})
    write_deltalake(str(path), v0)
    write_deltalake(str(path), v1, mode="append", schema_mode="merge")  # adds a column
    write_deltalake(str(path), v2, mode="overwrite", schema_mode="overwrite")  # replaces the schema
    v0_with_extra = v0.append_column("extra", pa.array([None, None], pa.float64()))
    expected = [
        arrow_rows(v0),
        arrow_rows(pa.concat_tables([v0_with_extra, v1])),
        arrow_rows(v2),
    ]
    check_versions_agree(path, expected, "schema-changes")
    check_history(path, "schema-changes")


# ---------------------------------------------------------------------------------------------
# (c) partitioned by a string with awkward values and by an int

def partition_rows(start: int, n: int) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "cat": pa.array([AWKWARD[i % len(AWKWARD)] for i in ids], pa.string()),
            "n": pa.array([None if i % 5 == 4 else i % 3 for i in ids], pa.int32()),
            "val": pa.array([f"v{i}" for i in ids], pa.string()),
        }
    )


def as_read(t: pa.Table) -> pa.Table:
    """The Delta protocol reads an empty-string partition value as null."""
    cats = [None if c == "" else c for c in t["cat"].to_pylist()]
    return t.set_column(t.schema.get_field_index("cat"), "cat", pa.array(cats, pa.string()))


def test_partitioned_awkward_values(tmp_path: Path):
    path = tmp_path / "t"
    t0 = partition_rows(0, 30)
    write_deltalake(str(path), t0, partition_by=["cat", "n"])  # v0
    t1 = partition_rows(30, 14)
    write_deltalake(str(path), t1, mode="append")  # v1
    current = pa.concat_tables([t0, t1])
    DeltaTable(str(path)).delete("n = 2")  # v2: removes whole partitions
    current = current.filter(pa.compute.fill_null(pa.compute.not_equal(current["n"], 2), True))
    after_delete = current
    t3 = partition_rows(100, 12)
    write_deltalake(str(path), t3, mode="append")  # v3
    expected = [
        arrow_rows(as_read(t0)),
        arrow_rows(as_read(pa.concat_tables([t0, t1]))),
        arrow_rows(as_read(after_delete)),
        arrow_rows(as_read(pa.concat_tables([after_delete, t3]))),
    ]
    check_versions_agree(path, expected, "partitioned")
    check_history(path, "partitioned")


@pytest.mark.parametrize("value", AWKWARD, ids=[repr(v) for v in AWKWARD])
def test_partition_value_alone(tmp_path: Path, value):
    """Each awkward value alone, so that a failure names the value it fails on."""
    path = tmp_path / "t"
    t = pa.table({"id": pa.array([1, 2], pa.int64()), "cat": pa.array([value, value], pa.string())})
    write_deltalake(str(path), t, partition_by=["cat"])
    check_versions_agree(path, [arrow_rows(as_read(t))], f"partition value {value!r}")


def test_partition_values_of_other_types(tmp_path: Path):
    """date, boolean and byte partition values (none needs escaping in a path)."""
    path = tmp_path / "t"
    t = pa.table(
        {
            "id": pa.array([1, 2, 3, 4], pa.int64()),
            "d": pa.array([dt.date(2020, 1, 1), None, dt.date(1969, 12, 31), dt.date(2020, 1, 1)], pa.date32()),
            "b": pa.array([True, None, False, True], pa.bool_()),
            "small": pa.array([-1, 0, None, 127], pa.int8()),
        }
    )
    write_deltalake(str(path), t, partition_by=["d", "b", "small"])
    check_versions_agree(path, [arrow_rows(t)], "typed-partitions")


def test_timestamp_partition_values(tmp_path: Path):
    """timestamp partition values ("2020-01-01 01:02:03.456789" in the log, UTC; their
    directories escape the space and the colons)."""
    path = tmp_path / "t"
    t = pa.table(
        {
            "id": pa.array([1, 2, 3, 4], pa.int64()),
            "ts": pa.array(
                [dt.datetime(2020, 1, 1, 1, 2, 3, 456789, tzinfo=UTC), None, dt.datetime(1960, 6, 1, tzinfo=UTC), dt.datetime(2020, 1, 1, 1, 2, 3, 456789, tzinfo=UTC)],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    write_deltalake(str(path), t, partition_by=["ts"])
    check_versions_agree(path, [arrow_rows(t)], "timestamp-partitions")


# ---------------------------------------------------------------------------------------------
# (d) a checkpoint


def test_checkpoint(tmp_path: Path):
    path = tmp_path / "t"
    parts = []
    current = None
    expected: list[Rows] = []
    for v in range(12):  # v0..v11
        part = people(v * 10, 3).append_column("grp", pa.array([["ga", None, "gb"][v % 3]] * 3, pa.string()))
        if v == 6:  # an overwrite in the middle: the checkpoint carries removes too
            write_deltalake(str(path), part, mode="overwrite", partition_by=["grp"])
            current = part
        else:
            write_deltalake(str(path), part, mode="append", partition_by=["grp"])
            current = part if current is None else pa.concat_tables([current, part])
        parts.append(part)
        expected.append(arrow_rows(current))
    DeltaTable(str(path)).create_checkpoint()
    assert (path / "_delta_log" / f"{11:020d}.checkpoint.parquet").exists()
    assert (path / "_delta_log" / "_last_checkpoint").exists()
    for v in range(12, 15):  # v12..v14, after the checkpoint
        part = people(v * 10, 2).append_column("grp", pa.array(["ga", None], pa.string()))
        write_deltalake(str(path), part, mode="append", partition_by=["grp"])
        current = pa.concat_tables([current, part])
        expected.append(arrow_rows(current))
    check_versions_agree(path, expected, "checkpoint")
    check_history(path, "checkpoint")

    # The checkpoint alone must carry the state: without the commits before it (as after a log
    # cleanup), versions 11.. still read the same.
    trimmed = tmp_path / "trimmed"
    shutil.copytree(path, trimmed)
    for v in range(11):
        (trimmed / "_delta_log" / f"{v:020d}.json").unlink()
    for v in range(11, 15):
        assert_same_rows(expected[v], deltalake_rows(trimmed, v), f"trimmed checkpoint version {v}", "expected", "deltalake")
        assert_same_rows(expected[v], tidemark_rows(trimmed, v), f"trimmed checkpoint version {v}", "expected", "tidemark scan")


# ---------------------------------------------------------------------------------------------
# (e) types


def two_versions(path: Path, t0: pa.Table, t1: pa.Table) -> list[Rows]:
    write_deltalake(str(path), t0)
    write_deltalake(str(path), t1, mode="append")
    return [arrow_rows(t0), arrow_rows(pa.concat_tables([t0, t1]))]


def test_scalar_types(tmp_path: Path):
    path = tmp_path / "t"
    expected = two_versions(path, scalar_types_table(0), scalar_types_table(7))
    check_versions_agree(path, expected, "scalar-types")


def test_timestamps(tmp_path: Path):
    path = tmp_path / "t"
    expected = two_versions(path, timestamps_table(0), timestamps_table(7))
    check_versions_agree(path, expected, "timestamps")


def test_nested_types(tmp_path: Path):
    path = tmp_path / "t"
    expected = two_versions(path, nested_table(), nested_table())
    check_versions_agree(path, expected, "nested-types")


@pytest.mark.parametrize("kind", ["scalar", "timestamps", "nested"])
def test_types_via_parquet_output(tmp_path: Path, kind: str):
    """The same values through `tidemark scan --format parquet` (no text formatting involved)."""
    path = tmp_path / "t"
    table = {"scalar": scalar_types_table(3), "timestamps": timestamps_table(3), "nested": nested_table(null_map_values=True)}[kind]
    write_deltalake(str(path), table)
    assert_same_rows(arrow_rows(table), tidemark_parquet_rows(path, tmp_path / "out", 0), f"{kind} version 0", "expected", "tidemark scan --format parquet")


def test_float_special_values_via_parquet_output(tmp_path: Path):
    """NaN and infinities cannot be written as JSON numbers (arrow-rs prints them as null), so
    these are compared through `tidemark scan --format parquet`."""
    path = tmp_path / "t"
    nan, inf = float("nan"), float("inf")
    t = pa.table(
        {
            "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
            "f32": pa.array([nan, inf, -inf, -0.0, None], pa.float32()),
            "f64": pa.array([nan, inf, -inf, -0.0, None], pa.float64()),
        }
    )
    write_deltalake(str(path), t)
    assert_same_rows(arrow_rows(t), deltalake_rows(path, 0), "float-specials version 0", "expected", "deltalake")
    assert_same_rows(deltalake_rows(path, 0), tidemark_parquet_rows(path, tmp_path / "out", 0), "float-specials version 0", "deltalake", "tidemark scan --format parquet")
