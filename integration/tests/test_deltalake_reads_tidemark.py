"""Tidemark writes tables through its CLI; deltalake (delta-rs) reads every version of them.

The write commands' contract:

    tidemark write TABLE INPUT... [--mode append|overwrite] [--partition-by a,b] [--message M]
                                  [--author A] [--meta k=v]...     -> prints "version N"
    tidemark create TABLE --schema FILE [--partition-by a,b] [--property k=v]...  -> "version 0"
    tidemark checkpoint TABLE                                        (at the latest version)

A write to a table that does not exist creates it (version 0). Tables Tidemark creates use
protocol reader 1 / writer 7 with the writer feature inCommitTimestamp (the lowest that needs).

For every version: deltalake's rows == the content the test wrote (accumulated here, in Python)
== `tidemark scan --version N`, and the schemas agree.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tables import AWKWARD, nested_table, people, scalar_types_table, timestamps_table
from conftest import (
    Rows,
    arrow_rows,
    assert_same_rows,
    check_history,
    check_versions_agree,
    concat_rows,
    deltalake_rows,
    deltalake_table,
    now_ms,
    parse_version_line,
    rfc3339_ms,
    tidemark,
    tidemark_describe,
    tidemark_rows,
)

UTC = dt.timezone.utc


class Inputs:
    """Writes the test's input tables as Parquet files in its tmp_path."""

    def __init__(self, tmp_path: Path):
        self.dir = tmp_path / "inputs"
        self.dir.mkdir()
        self.count = 0

    def parquet(self, table: pa.Table) -> Path:
        self.count += 1
        path = self.dir / f"input-{self.count:03d}.parquet"
        pq.write_table(table, path)
        return path


def tm_write(table: Path, *inputs: Path, mode: str | None = None, partition_by: list[str] | None = None, extra: tuple = ()) -> int:
    args: list = ["write", table, *inputs]
    if mode:
        args += ["--mode", mode]
    if partition_by:
        args += ["--partition-by", ",".join(partition_by)]
    return parse_version_line(tidemark(*args, *extra).stdout)


def check_protocol(table: Path, what: str) -> None:
    # The lowest protocol the features need (spec/PROTOCOL.md §8): in-commit timestamps are a
    # writer-only feature, so reader 1 / writer 7.
    protocol = deltalake_table(table).protocol()
    assert (protocol.min_reader_version, protocol.min_writer_version) == (1, 7), (
        f"{what}: expected reader 1 / writer 7, deltalake reads {protocol}"
    )
    assert "inCommitTimestamp" in (protocol.writer_features or []), f"{what}: writer features {protocol.writer_features}"


# ---------------------------------------------------------------------------------------------


def test_write_appends(tmp_path: Path):
    path, inputs = tmp_path / "t", Inputs(tmp_path)
    parts = [people(0, 5), people(5, 3), people(8, 4), people(12, 2), people(14, 6)]
    assert tm_write(path, inputs.parquet(parts[0])) == 0  # creates the table
    assert tm_write(path, inputs.parquet(parts[1]), mode="append") == 1
    assert tm_write(path, inputs.parquet(parts[2])) == 2  # append is the default
    # two inputs in one commit, with a message, an author and metadata
    extra = ("--message", "two files at once", "--author", "integration suite", "--meta", "run=42", "--meta", "source=pytest")
    assert tm_write(path, inputs.parquet(parts[3]), inputs.parquet(parts[4]), extra=extra) == 3
    accumulated = [parts[0], parts[1], parts[2], pa.concat_tables([parts[3], parts[4]])]
    expected = [concat_rows(*[arrow_rows(p) for p in accumulated[: v + 1]]) for v in range(4)]
    check_versions_agree(path, expected, "tidemark-appends")
    check_history(path, "tidemark-appends")
    history = {h["version"]: h for h in deltalake_table(path).history()}
    assert sorted(history) == [0, 1, 2, 3], f"deltalake history versions {sorted(history)}"
    # The message, author and metadata are recorded in version 3's commitInfo, as deltalake
    # reads it (where exactly is Tidemark's choice; the message is Delta's userMetadata today).
    recorded = json.dumps(history[3], ensure_ascii=False)
    for text in ("two files at once", "integration suite", "run", "42", "source", "pytest"):
        assert text in recorded, f"{text!r} is not in version 3's commitInfo: {recorded}"


@pytest.mark.parametrize("how", ["write", "create"])
def test_write_protocol(tmp_path: Path, how: str):
    """Tables Tidemark creates use the lowest protocol their features need: reader 1 / writer 7
    with the writer feature inCommitTimestamp."""
    path, inputs = tmp_path / "t", Inputs(tmp_path)
    if how == "write":
        tm_write(path, inputs.parquet(people(0, 2)))
    else:
        tidemark("create", path, "--schema", inputs.parquet(people(0, 0)))
    check_protocol(path, f"a table made by tidemark {how}")


def test_write_commit_log_is_spec_conformant_for_ict(tmp_path: Path):
    """With in-commit timestamps enabled, commitInfo is each commit's first action and carries
    inCommitTimestamp, increasing from commit to commit (Delta protocol, In-Commit Timestamps)."""
    path, inputs = tmp_path / "t", Inputs(tmp_path)
    for i in range(3):
        tm_write(path, inputs.parquet(people(i * 10, 2)))
    config = deltalake_table(path).metadata().configuration
    if config.get("delta.enableInCommitTimestamps", "false").lower() != "true":
        pytest.fail(f"the table supports inCommitTimestamp but does not enable it: configuration {config}", pytrace=False)
    previous = None
    for v in range(3):
        lines = (path / "_delta_log" / f"{v:020d}.json").read_text().splitlines()
        first = json.loads(lines[0])
        assert "commitInfo" in first, f"version {v}: the first action is {list(first)}, not commitInfo"
        ict = first["commitInfo"].get("inCommitTimestamp")
        assert isinstance(ict, int), f"version {v}: commitInfo has no integer inCommitTimestamp: {first['commitInfo']}"
        assert previous is None or ict > previous, f"version {v}: inCommitTimestamp {ict} not after {previous}"
        previous = ict


def test_write_append_then_overwrite(tmp_path: Path):
    path, inputs = tmp_path / "t", Inputs(tmp_path)
    a, b, c, d = people(0, 4), people(4, 4), people(100, 3), people(200, 2)
    assert tm_write(path, inputs.parquet(a)) == 0
    assert tm_write(path, inputs.parquet(b), mode="append") == 1
    assert tm_write(path, inputs.parquet(c), mode="overwrite") == 2
    assert tm_write(path, inputs.parquet(d), mode="append") == 3
    expected = [
        arrow_rows(a),
        arrow_rows(pa.concat_tables([a, b])),
        arrow_rows(c),
        arrow_rows(pa.concat_tables([c, d])),
    ]
    check_versions_agree(path, expected, "tidemark-overwrite")
    check_history(path, "tidemark-overwrite")


# Awkward partition values, without "" (the Delta protocol reads an empty-string partition value
# as null, so a writer cannot keep it apart from null) and with a backslash.
WRITE_AWKWARD = [v for v in AWKWARD if v != ""] + ["C:\\dir"]


def partitioned_rows(start: int, n: int) -> pa.Table:
    ids = list(range(start, start + n))
    dates = [dt.date(2024, 1, 1), dt.date(1969, 12, 31), None, dt.date(2024, 2, 29)]
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "cat": pa.array([WRITE_AWKWARD[i % len(WRITE_AWKWARD)] for i in ids], pa.string()),
            "day": pa.array([dates[i % len(dates)] for i in ids], pa.date32()),
            "val": pa.array([i * 0.5 for i in ids], pa.float64()),
        }
    )


def test_write_partitioned(tmp_path: Path):
    path, inputs = tmp_path / "t", Inputs(tmp_path)
    t0, t1, t2 = partitioned_rows(0, 30), partitioned_rows(30, 17), partitioned_rows(100, 9)
    assert tm_write(path, inputs.parquet(t0), partition_by=["cat", "day"]) == 0
    assert tm_write(path, inputs.parquet(t1), mode="append") == 1
    assert tm_write(path, inputs.parquet(t2), mode="overwrite") == 2
    expected = [arrow_rows(t0), arrow_rows(pa.concat_tables([t0, t1])), arrow_rows(t2)]
    assert deltalake_table(path).metadata().partition_columns == ["cat", "day"]
    check_versions_agree(path, expected, "tidemark-partitioned")
    check_history(path, "tidemark-partitioned")


@pytest.mark.parametrize("value", WRITE_AWKWARD, ids=[repr(v) for v in WRITE_AWKWARD])
def test_write_partition_value_alone(tmp_path: Path, value):
    """Each awkward value alone, so that a failure names the value it fails on."""
    path, inputs = tmp_path / "t", Inputs(tmp_path)
    t = pa.table({"id": pa.array([1, 2], pa.int64()), "cat": pa.array([value, value], pa.string())})
    assert tm_write(path, inputs.parquet(t), partition_by=["cat"]) == 0
    check_versions_agree(path, [arrow_rows(t)], f"tidemark partition value {value!r}")


def checkpoint_files(table: Path, version: int) -> list[str]:
    return sorted(p.name for p in (table / "_delta_log").iterdir() if re.match(rf"^{version:020d}\.checkpoint\.", p.name))


def test_write_checkpoint(tmp_path: Path):
    path, inputs = tmp_path / "t", Inputs(tmp_path)
    expected: list[Rows] = []
    current = None
    for v in range(12):  # v0..v11
        part = people(v * 10, 3)
        mode = "overwrite" if v == 6 else "append"  # an overwrite: the checkpoint carries removes
        assert tm_write(path, inputs.parquet(part), mode=mode) == v
        current = part if current is None or mode == "overwrite" else pa.concat_tables([current, part])
        expected.append(arrow_rows(current))
    tidemark("checkpoint", path)
    assert checkpoint_files(path, 11), f"no checkpoint for version 11 in {sorted(p.name for p in (path / '_delta_log').iterdir())}"
    last = json.loads((path / "_delta_log" / "_last_checkpoint").read_text())
    assert last["version"] == 11, f"_last_checkpoint: {last}"
    for v in range(12, 15):  # v12..v14
        part = people(v * 10, 2)
        assert tm_write(path, inputs.parquet(part)) == v
        current = pa.concat_tables([current, part])
        expected.append(arrow_rows(current))
    check_versions_agree(path, expected, "tidemark-checkpoint")
    check_history(path, "tidemark-checkpoint")

    # The checkpoint alone must carry the state: without the commits before it (as after a log
    # cleanup), versions 11.. still read the same in deltalake and in Tidemark.
    trimmed = tmp_path / "trimmed"
    shutil.copytree(path, trimmed)
    for v in range(11):
        (trimmed / "_delta_log" / f"{v:020d}.json").unlink()
    for v in range(11, 15):
        assert_same_rows(expected[v], deltalake_rows(trimmed, v), f"trimmed tidemark-checkpoint version {v}", "expected", "deltalake")
        assert_same_rows(expected[v], tidemark_rows(trimmed, v), f"trimmed tidemark-checkpoint version {v}", "expected", "tidemark scan")


def test_write_scalar_types(tmp_path: Path):
    path, inputs = tmp_path / "t", Inputs(tmp_path)
    t0, t1 = scalar_types_table(0), scalar_types_table(7)
    assert tm_write(path, inputs.parquet(t0)) == 0
    assert tm_write(path, inputs.parquet(t1)) == 1
    check_versions_agree(path, [arrow_rows(t0), arrow_rows(pa.concat_tables([t0, t1]))], "tidemark-scalar-types")


def test_write_timestamps(tmp_path: Path):
    path, inputs = tmp_path / "t", Inputs(tmp_path)
    t = timestamps_table(0)
    assert tm_write(path, inputs.parquet(t)) == 0
    check_versions_agree(path, [arrow_rows(t)], "tidemark-timestamps")


def test_write_nested_types(tmp_path: Path):
    path, inputs = tmp_path / "t", Inputs(tmp_path)
    t = nested_table()
    assert tm_write(path, inputs.parquet(t)) == 0
    check_versions_agree(path, [arrow_rows(t)], "tidemark-nested-types")


def test_write_time_travel_by_timestamp(tmp_path: Path):
    path, inputs = tmp_path / "t", Inputs(tmp_path)
    a, b, c = people(0, 3), people(3, 3), people(6, 3)
    first, second = inputs.parquet(a), inputs.parquet(b)
    third = inputs.parquet(c)
    assert tm_write(path, first) == 0
    time.sleep(0.55)
    between_0_1 = now_ms()
    time.sleep(0.55)
    assert tm_write(path, second) == 1
    time.sleep(0.55)
    between_1_2 = now_ms()
    time.sleep(0.55)
    assert tm_write(path, third, mode="overwrite") == 2
    expected = [arrow_rows(a), arrow_rows(pa.concat_tables([a, b])), arrow_rows(c)]
    for version, instant_ms in [(0, between_0_1), (1, between_1_2)]:
        as_of = dt.datetime.fromtimestamp(instant_ms / 1000, UTC)
        dtab = deltalake_table(path, as_of=as_of)
        assert dtab.version() == version, f"deltalake load_as_version({as_of.isoformat()}) picked {dtab.version()}, expected {version}"
        assert_same_rows(expected[version], deltalake_rows(path, as_of=as_of), f"as of {as_of.isoformat()}", "expected", "deltalake")
        instant = rfc3339_ms(instant_ms)
        assert tidemark_describe(path, timestamp=instant)["version"] == version
        assert_same_rows(expected[version], tidemark_rows(path, timestamp=instant), f"as of {instant}", "expected", "tidemark scan --timestamp")


def test_create_then_write(tmp_path: Path):
    path, inputs = tmp_path / "t", Inputs(tmp_path)
    schema = {
        "type": "struct",
        "fields": [
            {"name": "id", "type": "long", "nullable": True, "metadata": {}},
            {"name": "name", "type": "string", "nullable": True, "metadata": {}},
            {"name": "score", "type": "double", "nullable": True, "metadata": {}},
            {"name": "flag", "type": "boolean", "nullable": True, "metadata": {}},
        ],
    }
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema))
    out = tidemark("create", path, "--schema", schema_file, "--partition-by", "flag", "--property", "tidemark.test=yes").stdout
    assert parse_version_line(out) == 0
    dtab = deltalake_table(path)
    assert dtab.version() == 0
    assert dtab.metadata().partition_columns == ["flag"]
    assert dtab.metadata().configuration.get("tidemark.test") == "yes", dtab.metadata().configuration
    a, b = people(0, 6), people(6, 4)
    assert tm_write(path, inputs.parquet(a)) == 1
    assert tm_write(path, inputs.parquet(b)) == 2
    empty = arrow_rows(people(0, 0))
    expected = [empty, arrow_rows(a), arrow_rows(pa.concat_tables([a, b]))]
    check_versions_agree(path, expected, "tidemark-create")


def test_create_from_parquet_schema(tmp_path: Path):
    path, inputs = tmp_path / "t", Inputs(tmp_path)
    t = scalar_types_table(3)
    assert parse_version_line(tidemark("create", path, "--schema", inputs.parquet(t.slice(0, 0))).stdout) == 0
    assert tm_write(path, inputs.parquet(t)) == 1
    check_versions_agree(path, [arrow_rows(t.slice(0, 0)), arrow_rows(t)], "tidemark-create-parquet-schema")


# ---------------------------------------------------------------------------------------------
# deltalake writing to Tidemark's tables


def test_deltalake_refuses_to_append_to_ict_tables(tmp_path: Path):
    """KNOWN REFUSAL (see README.md): deltalake 1.6.6 reads tables with the writer feature
    inCommitTimestamp but does not write to them. Tidemark's tables have it by default, so
    deltalake cannot append to them; this test pins down exactly that refusal (and that it
    leaves the table as it was)."""
    from deltalake import write_deltalake
    from deltalake.exceptions import CommitFailedError

    path, inputs = tmp_path / "t", Inputs(tmp_path)
    a = people(0, 3)
    assert tm_write(path, inputs.parquet(a)) == 0
    with pytest.raises(CommitFailedError, match=r"Unsupported table features required: \[InCommitTimestamp\]"):
        write_deltalake(str(path), people(3, 2), mode="append")
    check_versions_agree(path, [arrow_rows(a)], "tidemark-ict-after-refused-append")


def test_deltalake_appends_to_table_without_ict(tmp_path: Path):
    """With `--no-in-commit-timestamps` Tidemark makes a table deltalake can write to; both then
    read every version, whoever wrote it, the same."""
    from deltalake import write_deltalake

    path, inputs = tmp_path / "t", Inputs(tmp_path)
    a, b, c, d = people(0, 3), people(3, 2), people(5, 4), people(9, 1)
    assert tm_write(path, inputs.parquet(a), extra=("--no-in-commit-timestamps",)) == 0
    protocol = deltalake_table(path).protocol()
    assert "inCommitTimestamp" not in (protocol.writer_features or []), protocol
    write_deltalake(str(path), b, mode="append")  # v1, by deltalake
    assert tm_write(path, inputs.parquet(c)) == 2  # v2, by Tidemark on deltalake's commit
    write_deltalake(str(path), d, mode="overwrite")  # v3, by deltalake
    expected = [
        arrow_rows(a),
        arrow_rows(pa.concat_tables([a, b])),
        arrow_rows(pa.concat_tables([a, b, c])),
        arrow_rows(d),
    ]
    check_versions_agree(path, expected, "tidemark-without-ict")
    check_history(path, "tidemark-without-ict")
