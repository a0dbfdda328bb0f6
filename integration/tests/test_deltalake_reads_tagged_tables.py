"""Tables that carry Tidemark's reproducibility records stay plain Delta tables for deltalake.

Tags and pins live in `_tidemark/` inside the table's root (spec/TIDEMARK.md); lineage lives in
`commitInfo.tidemark.lineage`. None of it is a Delta action or a data file, so deltalake
(delta-rs) must read every version exactly as before, and Tidemark's vacuum, which keeps the files
of tagged and pinned versions, must leave those versions readable by deltalake too.

The commands' contract:

    tidemark tag TABLE create NAME [--version N] [--message M] [--author A]   -> prints the snapshot id
    tidemark pin TABLE create [--version N|--tag T] --owner O [--reason R] [--expires RFC3339]
                                                                            -> prints the pin id
    tidemark vacuum TABLE --retain 0 --allow-short-retention --execute [--format json]
    tidemark write TABLE INPUT --input-table TABLE@SNAPSHOT_ID               -> "version N"
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tables import people
from conftest import (
    arrow_rows,
    assert_same_rows,
    check_history,
    check_versions_agree,
    concat_rows,
    deltalake_rows,
    deltalake_table,
    parse_version_line,
    tidemark,
    tidemark_describe,
    tidemark_rows,
)


def write_parquet(tmp_path: Path, name: str, table: pa.Table) -> Path:
    path = tmp_path / "inputs" / f"{name}.parquet"
    path.parent.mkdir(exist_ok=True)
    pq.write_table(table, path)
    return path


def tm_write(table: Path, source: Path, *extra: str) -> int:
    return parse_version_line(tidemark("write", table, source, *extra).stdout)


def test_deltalake_reads_a_table_with_tags_and_pins(tmp_path: Path):
    path = tmp_path / "t"
    a, b, c = people(0, 4), people(4, 3), people(100, 2)
    assert tm_write(path, write_parquet(tmp_path, "a", a)) == 0
    assert tm_write(path, write_parquet(tmp_path, "b", b)) == 1
    assert tm_write(path, write_parquet(tmp_path, "c", c), "--mode", "overwrite") == 2

    snapshot_id = tidemark("tag", path, "create", "train-v1", "--version", "1", "--message", "first model", "--author", "ci").stdout.strip()
    assert snapshot_id.startswith("tm1."), snapshot_id
    pin = tidemark("pin", path, "create", "--tag", "train-v1", "--owner", "run-1", "--reason", "pytest").stdout.strip()
    assert (path / "_tidemark" / "tags" / "train-v1.json").is_file()
    assert (path / "_tidemark" / "pins" / f"{pin}.json").is_file()

    # Tags and pins create no version: deltalake still sees versions 0..2 and the same rows.
    expected = [arrow_rows(a), concat_rows(arrow_rows(a), arrow_rows(b)), arrow_rows(c)]
    check_versions_agree(path, expected, "tagged table")
    check_history(path, "tagged table")

    # Reading by tag and by snapshot id gives what deltalake reads at that version.
    describe = tidemark_describe(path, 1)
    assert describe["snapshotId"] == snapshot_id
    by_tag = tidemark("scan", path, "--tag", "train-v1", "--format", "json").stdout
    assert len([line for line in by_tag.splitlines() if line.strip()]) == len(expected[1])
    assert_same_rows(deltalake_rows(path, 1), tidemark_rows(path, 1), "tagged version 1", "deltalake", "tidemark scan")

    # deltalake's own vacuum does not consider `_tidemark/` its business.
    candidates = deltalake_table(path).vacuum(retention_hours=0, dry_run=True, enforce_retention_duration=False)
    assert not [f for f in candidates if "_tidemark" in f], candidates


def test_deltalake_reads_what_tidemark_vacuum_kept(tmp_path: Path):
    """Tidemark's vacuum with a zero window keeps the tagged and the pinned version: deltalake
    reads both, and the latest, exactly as before the vacuum."""
    path = tmp_path / "t"
    parts = [people(0, 3), people(10, 3), people(20, 3), people(30, 3)]
    assert tm_write(path, write_parquet(tmp_path, "p0", parts[0])) == 0
    for v in range(1, 4):
        assert tm_write(path, write_parquet(tmp_path, f"p{v}", parts[v]), "--mode", "overwrite") == v
    before = {v: deltalake_rows(path, v) for v in range(4)}

    tidemark("tag", path, "create", "gold", "--version", "0")
    pin = tidemark("pin", path, "create", "--version", "2", "--owner", "run-2").stdout.strip()
    tidemark("pin", path, "create", "--version", "1", "--owner", "old", "--expires", "2020-01-01T00:00:00Z")
    report = json.loads(
        tidemark("vacuum", path, "--retain", "0", "--allow-short-retention", "--execute", "--format", "json").stdout
    )
    kept = {(p["kind"], p["name"]): p for p in report["protected"]}
    assert kept[("tag", "gold")]["version"] == 0, report
    assert kept[("pin", pin)]["version"] == 2, report
    assert len(report["expiredPins"]) == 1, report
    assert len(report["files"]) == 1, report  # version 1's file: its pin had expired

    for v in (0, 2, 3):
        assert_same_rows(before[v], deltalake_rows(path, v), f"version {v} after vacuum", "deltalake before", "deltalake after")
        assert_same_rows(before[v], tidemark_rows(path, v), f"version {v} after vacuum", "deltalake before", "tidemark scan")


def test_deltalake_reads_commits_that_record_lineage(tmp_path: Path):
    raw, features = tmp_path / "raw", tmp_path / "features"
    a, b = people(0, 5), people(5, 2)
    assert tm_write(raw, write_parquet(tmp_path, "a", a)) == 0
    raw_id = tidemark_describe(raw, 0)["snapshotId"]
    assert tm_write(features, write_parquet(tmp_path, "b", b), "--input-table", f"{raw}@{raw_id}") == 0

    check_versions_agree(features, [arrow_rows(b)], "table with lineage")
    history = deltalake_table(features).history()
    recorded = json.dumps(history[0])
    assert raw_id in recorded, f"deltalake's history of the commit does not show its lineage: {recorded}"
    lineage = json.loads(tidemark("lineage", features, "--format", "json").stdout)
    assert [i["snapshotId"] for i in lineage["inputs"]] == [raw_id], lineage
