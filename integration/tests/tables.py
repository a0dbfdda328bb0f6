"""Deterministic input tables shared by both directions of the suite."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

UTC = dt.timezone.utc

# Partition values that need escaping in paths, a null, and look-alikes of escapes.
AWKWARD = ["a b", "50%", "x/y", "k=v", "🦀", None, "plain", "a%20b", "é", "", " lead", "q?#&"]


def people(start: int, n: int) -> pa.Table:
    """Deterministic rows: ids start..start+n-1."""
    ids = list(range(start, start + n))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "name": pa.array([f"name-{i}" if i % 4 else None for i in ids], pa.string()),
            "score": pa.array([i * 1.25 - 3 for i in ids], pa.float64()),
            "flag": pa.array([i % 3 == 0 for i in ids], pa.bool_()),
        }
    )


def scalar_types_table(k: int) -> pa.Table:
    """Every primitive Delta type but the timestamps (tested on their own)."""
    return pa.table(
        {
            "i8": pa.array([-128, 127, None, k], pa.int8()),
            "i16": pa.array([-32768, 32767, None, k], pa.int16()),
            "i32": pa.array([-(2**31), 2**31 - 1, None, k], pa.int32()),
            "i64": pa.array([-(2**63), 2**63 - 1, None, k], pa.int64()),
            "f32": pa.array([0.1, -3.4028234663852886e38, None, 1e-45], pa.float32()),
            "f64": pa.array([0.1, -1.7976931348623157e308, None, 5e-324], pa.float64()),
            "flag": pa.array([True, False, None, True], pa.bool_()),
            "s": pa.array(["plain", 'quote " backslash \\ newline \n tab \t', None, "ünï ✓ 🦀"], pa.string()),
            "empty_s": pa.array(["", "x", None, ""], pa.string()),
            "bin": pa.array([b"\x00\x01\xff", b"", None, b"abc"], pa.binary()),
            "d": pa.array([dt.date(2024, 2, 29), dt.date(1969, 12, 31), None, dt.date(1, 1, 1)], pa.date32()),
            "dec": pa.array([Decimal("12345678.90"), Decimal("-0.01"), None, Decimal(k)], pa.decimal128(10, 2)),
            "dec_wide": pa.array(
                [Decimal("1234567890123456789012345678.0123456789"), Decimal("-0.0000000001"), None, Decimal(0)],
                pa.decimal128(38, 10),
            ),
            "dec_int": pa.array([Decimal(99999), Decimal(-99999), None, Decimal(k)], pa.decimal128(5, 0)),
        }
    )


def timestamps_table(k: int) -> pa.Table:
    """timestamp (UTC) and timestamp_ntz, also inside a struct and a list."""
    return pa.table(
        {
            "id": pa.array([1, 2, 3, 4], pa.int64()),
            "ts": pa.array(
                [
                    dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
                    dt.datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
                    None,
                    dt.datetime(2000, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=k),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "ntz": pa.array(
                [dt.datetime(2020, 1, 1, 1, 2, 3, 456789), None, dt.datetime(1900, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999)],
                pa.timestamp("us"),
            ),
            "st": pa.array(
                [{"on": True, "at": dt.datetime(2020, 5, 17, 12, tzinfo=UTC)}, None, {"on": None, "at": None}, {"on": False, "at": dt.datetime(1, 1, 1, tzinfo=UTC)}],
                pa.struct([("on", pa.bool_()), ("at", pa.timestamp("us", tz="UTC"))]),
            ),
            "times": pa.array([[dt.datetime(2021, 3, 4, 5, 6, 7, 8)], [], None, [None]], pa.list_(pa.timestamp("us"))),
        }
    )


def nested_table(null_map_values: bool = False) -> pa.Table:
    """struct, array and map columns (timestamps inside them are in timestamps_table).

    A map entry whose value is null does not survive `tidemark scan --format json` (arrow-rs's
    JSON writer leaves null values out of objects, and a map is printed as an object), so the
    JSON comparisons use maps without null values; the Parquet-output ones have them too."""
    point = pa.struct([("x", pa.int32()), ("label", pa.string()), ("inner", pa.struct([("on", pa.bool_()), ("d", pa.date32())]))])
    return pa.table(
        {
            "id": pa.array([1, 2, 3, 4], pa.int64()),
            "st": pa.array(
                [
                    {"x": 1, "label": "a", "inner": {"on": True, "d": dt.date(2020, 5, 17)}},
                    None,
                    {"x": None, "label": None, "inner": None},
                    {"x": -5, "label": "ü", "inner": {"on": None, "d": None}},
                ],
                point,
            ),
            "ints": pa.array([[1, 2, 3], [], None, [None, 4]], pa.list_(pa.int64())),
            "strs": pa.array([["a", None], None, [""], ["🦀"]], pa.list_(pa.string())),
            "structs": pa.array(
                [[{"k": "a", "v": 1.5}], [], None, [{"k": None, "v": None}, {"k": "b", "v": -2.0}]],
                pa.list_(pa.struct([("k", pa.string()), ("v", pa.float64())])),
            ),
            "m": pa.array(
                [[("a", 1), ("b", None if null_map_values else 2)], None, [], [("z", 26)]],
                pa.map_(pa.string(), pa.int64()),
            ),
        }
    )
