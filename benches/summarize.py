#!/usr/bin/env python3
"""Medians and Tidemark/delta-rs ratios from the JSON lines of benches/run, as Markdown."""

import json
import statistics
import sys
from collections import defaultdict

# workload -> (floor description, ratio Tidemark/delta-rs must be at most this)
TARGETS = {
    "append_10m": ("1: as fast as delta-rs", 1.0),
    "append_10m_partitioned": ("1: as fast as delta-rs", 1.0),
    "small_appends": ("2: as fast as delta-rs", 1.0),
    "open_latest_10k": ("3: twice as fast", 0.5),
    "open_latest_300k": ("3: twice as fast", 0.5),
    "open_version_5000": ("4: twice as fast", 0.5),
    "open_timestamp_mid": ("4: twice as fast", 0.5),
    "sql_aggregate": ("5: as fast as delta-rs; within 10% of DataFusion", 1.0),
    "sql_range": ("5: as fast as delta-rs; within 10% of DataFusion", 1.0),
    "peak_rss_open_300k": ("6: at most half the peak RSS", 0.5),
}
# workload -> the floor figure of the same run (Tidemark side) and the allowed ratio
FLOORS = {
    "append_10m": ("append_10m_parquet_floor", None),
    "sql_aggregate": ("sql_aggregate_datafusion_floor", 1.10),
    "sql_range": ("sql_range_datafusion_floor", 1.10),
}


def main(path):
    runs = defaultdict(list)
    extras = {}
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        m = json.loads(line)
        value = m.get("secs", m.get("kib"))
        runs[(m["workload"], m["side"])].append(value)
        extras[(m["workload"], m["side"])] = m.get("extra", {})
    med = {k: statistics.median(v) for k, v in runs.items()}

    def fmt(workload, value):
        if value is None:
            return "not run"
        if workload.startswith("peak_rss"):
            return f"{value / 1024:.1f} MiB"
        return f"{value:.3f} s" if value >= 0.1 else f"{value * 1e3:.1f} ms"

    print("| workload | Tidemark (median) | delta-rs (median) | Tidemark/delta-rs | floor figure | Tidemark/floor | target | met? | runs |")
    print("|---|---|---|---|---|---|---|---|---|")
    for workload, (target, limit) in TARGETS.items():
        tm = med.get((workload, "tidemark"))
        dr = med.get((workload, "delta-rs"))
        if tm is None and dr is None:
            continue
        ratio = tm / dr if tm is not None and dr else None
        floor_fig = floor_ratio = ""
        met = ratio is not None and ratio <= limit
        if workload in FLOORS:
            fname, flimit = FLOORS[workload]
            fv = med.get((fname, "tidemark"))
            if fv is not None and tm is not None:
                floor_fig = fmt(workload, fv)
                floor_ratio = f"{tm / fv:.2f}"
                if flimit is not None:
                    met = met and tm / fv <= flimit
        n = f"{len(runs.get((workload, 'tidemark'), []))}+{len(runs.get((workload, 'delta-rs'), []))}"
        verdict = "n/a" if ratio is None else ("yes" if met else "**no**")
        ratio_s = "" if ratio is None else f"{ratio:.2f}"
        print(f"| {workload} | {fmt(workload, tm)} | {fmt(workload, dr)} | {ratio_s} | {floor_fig} | {floor_ratio} | ≤{limit} {target} | {verdict} | {n} |")
    print()
    print("Per-run figures (seconds, or KiB for RSS), in run order:")
    print()
    for (workload, side), values in sorted(runs.items()):
        extra = extras.get((workload, side), {})
        print(f"- {workload} / {side}: {', '.join(f'{v:.4g}' for v in values)}; last extra: {json.dumps(extra)}")


if __name__ == "__main__":
    main(sys.argv[1])
