#!/usr/bin/env python3
"""delta-rs side of the issue-7 benchmarks (the `deltalake` wheel, pinned in
integration/requirements.txt). Same modes and JSON lines as benches/versus.rs, timed in-process
with time.perf_counter; `benches/run` alternates the two sides.

Modes: append <arrow> <table> [partition col] | appends <arrow> <table> <n> |
open <table> <label> | open-version <table> <v> | open-ts <table> <epoch ms> |
sql <table> | mem <table>
"""

import json
import sys
import time
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.ipc

from deltalake import DeltaTable, QueryBuilder, write_deltalake

# The same queries as versus.rs.
SQL_AGGREGATE = (
    "SELECT cat, count(*) AS n, sum(value) AS s, min(ts) AS t0, "
    "max(id) AS m FROM t GROUP BY cat ORDER BY cat"
)
SQL_RANGE = "SELECT count(*) AS n, sum(value) AS s FROM t WHERE id >= 5000000 AND id < 5010000"


def emit(workload, secs, **extra):
    print(json.dumps({"side": "delta-rs", "workload": workload, "secs": secs, "extra": extra}), flush=True)


def read_ipc(path):
    with pa.memory_map(path) as source:
        return pa.ipc.open_file(source).read_all()


def vm_hwm_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main(argv):
    mode = argv[0]
    if mode == "append":
        table = read_ipc(argv[1])
        part = argv[3] if len(argv) > 3 else None
        start = time.perf_counter()
        write_deltalake(argv[2], table, mode="append", partition_by=part)
        label = "append_10m_partitioned" if part else "append_10m"
        emit(label, time.perf_counter() - start)
    elif mode == "appends":
        table = read_ipc(argv[1])
        n = int(argv[3])
        batches = table.to_batches()
        write_deltalake(argv[2], pa.Table.from_batches([batches[0]]), mode="append")
        start = time.perf_counter()
        for i in range(n):
            batch = batches[1 + i % (len(batches) - 1)]
            write_deltalake(argv[2], pa.Table.from_batches([batch]), mode="append")
        total = time.perf_counter() - start
        emit("small_appends", total, n=n, per_commit_ms=total * 1e3 / n)
    elif mode == "open":
        start = time.perf_counter()
        dt = DeltaTable(argv[1])
        secs = time.perf_counter() - start
        emit("open_latest_" + argv[2], secs, version=dt.version())
    elif mode == "open-version":
        v = int(argv[2])
        start = time.perf_counter()
        dt = DeltaTable(argv[1], version=v)
        secs = time.perf_counter() - start
        emit("open_version_5000", secs, version=dt.version())
    elif mode == "open-ts":
        instant = datetime.fromtimestamp(int(argv[2]) / 1000, tz=timezone.utc)
        start = time.perf_counter()
        dt = DeltaTable(argv[1])
        dt.load_as_version(instant)
        secs = time.perf_counter() - start
        emit("open_timestamp_mid", secs, version=dt.version())
    elif mode == "sql":
        dt = DeltaTable(argv[1])
        qb = QueryBuilder().register("t", dt)
        for name, sql in (("sql_aggregate", SQL_AGGREGATE), ("sql_range", SQL_RANGE)):
            qb.execute(sql).read_all()  # warm-up, as on the Tidemark side
            start = time.perf_counter()
            rows = qb.execute(sql).read_all().num_rows
            emit(name, time.perf_counter() - start, rows=rows)
    elif mode == "mem":
        before = vm_hwm_kib()
        dt = DeltaTable(argv[1])
        after = vm_hwm_kib()
        print(json.dumps({"side": "delta-rs", "workload": "peak_rss_open_300k", "kib": after,
                          "extra": {"baseline_kib": before, "version": dt.version()}}), flush=True)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
