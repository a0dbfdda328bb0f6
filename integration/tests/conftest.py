"""Helpers for the interop suite: run the `tidemark` binary, read rows from Tidemark and from
deltalake (delta-rs), and compare them as multisets of rows in one canonical normal form.

The normal form of a value depends on its column's type, never on a guess from the value:

    null                      -> None
    byte/short/integer/long   -> int
    float                     -> float rounded to float32 (both sides), NaN/inf -> "NaN"/"Infinity"/"-Infinity"
    double                    -> float, NaN/inf -> "NaN"/"Infinity"/"-Infinity"
    boolean                   -> bool
    string                    -> str
    binary                    -> lowercase hex str
    date                      -> "YYYY-MM-DD"
    timestamp (UTC)           -> "YYYY-MM-DDTHH:MM:SS.ffffffZ" (microseconds, always 6 digits)
    timestamp_ntz             -> "YYYY-MM-DDTHH:MM:SS.ffffff"
    decimal(p,s)              -> str with exactly s fraction digits
    struct                    -> tuple of (field name, value), sorted by field name
    array                     -> tuple of values, in order
    map                       -> tuple of (key, value), in order

Tidemark's rows come from `tidemark scan --format json`: newline-delimited JSON written by
arrow-rs's LineDelimitedWriter. That writer leaves null fields out of an object, prints decimals
as bare JSON numbers, binary as hex strings, dates as "%Y-%m-%d" and timestamps as RFC 3339
(with "Z" when the column has a time zone, none for timestamp_ntz), and prints NaN and +-inf as
null (JSON has no such numbers): tables compared through JSON hold no NaN or infinity; the
float special values are compared through `tidemark scan --format parquet` instead. Its types
come from the table's own Delta schema as Tidemark reports it (`tidemark describe`), which is
checked separately against deltalake's schema.

deltalake's rows come from `DeltaTable(path, version=N).to_pyarrow_table()`, normalised by their
Arrow types. See README.md for why it is given a local pyarrow filesystem.
"""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import json
import math
import os
import re
import struct
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Sequence

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

# ---------------------------------------------------------------------------------------------
# the binary


def tidemark_bin() -> str:
    path = os.environ.get("TIDEMARK_BIN")
    if not path:
        pytest.fail("TIDEMARK_BIN is not set: run the suite through integration/run", pytrace=False)
    if not os.access(path, os.X_OK):
        pytest.fail(f"TIDEMARK_BIN={path} is not an executable file", pytrace=False)
    return path


def tidemark(*args: Any, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
    """Runs `tidemark ARGS...`; with check, fails the test (showing stderr) on a non-zero exit."""
    cmd = [tidemark_bin(), *[str(a) for a in args]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(
            f"command failed with exit status {proc.returncode}: {' '.join(cmd)}\n"
            f"--- stderr ---\n{proc.stderr.strip()}\n--- stdout (first 2000 chars) ---\n{proc.stdout[:2000]}",
            pytrace=False,
        )
    return proc


def _at(version: int | None, timestamp: str | None) -> list[str]:
    if version is not None and timestamp is not None:
        raise ValueError("give a version or a timestamp, not both")
    if version is not None:
        return ["--version", str(version)]
    if timestamp is not None:
        return ["--timestamp", timestamp]
    return []


def tidemark_describe(table: Path | str, version: int | None = None, timestamp: str | None = None) -> dict:
    out = tidemark("describe", table, *_at(version, timestamp), "--format", "json").stdout
    return json.loads(out)


def tidemark_history(table: Path | str) -> list[dict]:
    out = tidemark("history", table, "--format", "json").stdout
    return json.loads(out)


# ---------------------------------------------------------------------------------------------
# normal forms

_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_US = dt.timedelta(microseconds=1)


def _iso_micros(micros: int, utc: bool) -> str:
    t = _EPOCH + dt.timedelta(microseconds=micros)
    text = (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
        f".{t.microsecond:06d}"
    )
    return text + "Z" if utc else text


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _float_special(x: float) -> float | str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


_DECIMAL_CONTEXT = decimal.Context(prec=100)  # Delta decimals have up to 38 digits


def _decimal_text(d: Decimal, scale: int) -> str:
    return format(_DECIMAL_CONTEXT.quantize(Decimal(d), Decimal(1).scaleb(-scale)), "f")


_TS_RE = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)?$"
)


def _parse_arrow_timestamp(text: str, utc: bool) -> int:
    """Microseconds since the epoch of a timestamp as arrow-rs prints it."""
    m = _TS_RE.match(text)
    if not m:
        raise ValueError(f"not a timestamp as arrow-rs prints one: {text!r}")
    y, mo, d, h, mi, s, frac, zone = m.groups()
    if utc and zone is None:
        raise ValueError(f"timestamp column printed without a time zone: {text!r}")
    if not utc and zone is not None:
        raise ValueError(f"timestamp_ntz column printed with a time zone: {text!r}")
    frac = (frac or "").ljust(9, "0")
    if int(frac[6:]) != 0:
        raise ValueError(f"timestamp with sub-microsecond digits: {text!r}")
    t = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), int(frac[:6]))
    micros = (t - _EPOCH) // _US
    if zone not in (None, "Z"):
        sign = 1 if zone[0] == "+" else -1
        hh, mm = int(zone[1:3]), int(zone[-2:])
        micros -= sign * (hh * 3600 + mm * 60) * 1_000_000
    return micros


def _delta_type_name(dtype: Any) -> str:
    return dtype if isinstance(dtype, str) else dtype["type"]


def normalise_delta(value: Any, dtype: Any) -> Any:
    """Normal form of a value parsed from arrow-rs JSON (floats parsed as Decimal), by Delta type."""
    if value is None:
        return None
    kind = _delta_type_name(dtype)
    if kind in ("byte", "short", "integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{kind} value is not a JSON integer: {value!r}")
        return value
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise ValueError(f"{kind} value is not a JSON number: {value!r}")
        x = float(value)
        return _float_special(_f32(x) if kind == "float" else x)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"boolean value is not a JSON boolean: {value!r}")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise ValueError(f"string value is not a JSON string: {value!r}")
        return value
    if kind == "binary":
        if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]*", value):
            raise ValueError(f"binary value is not a lowercase hex string: {value!r}")
        return value
    if kind == "date":
        if not isinstance(value, str):
            raise ValueError(f"date value is not a string: {value!r}")
        return dt.date.fromisoformat(value).isoformat()
    if kind in ("timestamp", "timestamp_ntz"):
        if not isinstance(value, str):
            raise ValueError(f"{kind} value is not a string: {value!r}")
        utc = kind == "timestamp"
        return _iso_micros(_parse_arrow_timestamp(value, utc), utc)
    m = re.fullmatch(r"decimal\((\d+),\s*(\d+)\)", kind)
    if m:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
            raise ValueError(f"decimal value is not a JSON number: {value!r}")
        return _decimal_text(Decimal(str(value)), int(m.group(2)))
    if kind == "struct":
        if not isinstance(value, dict):
            raise ValueError(f"struct value is not a JSON object: {value!r}")
        fields = {f["name"]: f["type"] for f in dtype["fields"]}
        unknown = set(value) - set(fields)
        if unknown:
            raise ValueError(f"struct value has fields not in the schema: {sorted(unknown)}")
        return tuple((name, normalise_delta(value.get(name), fields[name])) for name in sorted(fields))
    if kind == "array":
        if not isinstance(value, list):
            raise ValueError(f"array value is not a JSON array: {value!r}")
        return tuple(normalise_delta(v, dtype["elementType"]) for v in value)
    if kind == "map":
        if not isinstance(value, dict):
            raise ValueError(f"map value is not a JSON object: {value!r}")
        return tuple(
            (normalise_delta(k, dtype["keyType"]), normalise_delta(v, dtype["valueType"]))
            for k, v in value.items()
        )
    raise ValueError(f"no normal form for Delta type {dtype!r}")


def normalise_arrow(value: Any, atype: pa.DataType) -> Any:
    """Normal form of a value from `pyarrow` `to_pylist()`, by Arrow type."""
    if value is None:
        return None
    if pa.types.is_dictionary(atype):
        return normalise_arrow(value, atype.value_type)
    if pa.types.is_boolean(atype):
        return bool(value)
    if pa.types.is_integer(atype):
        return int(value)
    if pa.types.is_float32(atype):
        return _float_special(_f32(float(value)))
    if pa.types.is_floating(atype):
        return _float_special(float(value))
    if pa.types.is_string(atype) or pa.types.is_large_string(atype) or pa.types.is_string_view(atype):
        return str(value)
    if (
        pa.types.is_binary(atype)
        or pa.types.is_large_binary(atype)
        or pa.types.is_fixed_size_binary(atype)
        or pa.types.is_binary_view(atype)
    ):
        return bytes(value).hex()
    if pa.types.is_date(atype):
        return value.isoformat()
    if pa.types.is_timestamp(atype):
        if atype.tz is not None:
            return _iso_micros((value - _EPOCH_UTC) // _US, True)
        return _iso_micros((value - _EPOCH) // _US, False)
    if pa.types.is_decimal(atype):
        return _decimal_text(value, atype.scale)
    if pa.types.is_struct(atype):
        fields = {atype.field(i).name: atype.field(i).type for i in range(atype.num_fields)}
        return tuple((name, normalise_arrow(value.get(name), fields[name])) for name in sorted(fields))
    if pa.types.is_map(atype):
        return tuple(
            (normalise_arrow(k, atype.key_type), normalise_arrow(v, atype.item_type)) for k, v in value
        )
    if pa.types.is_list(atype) or pa.types.is_large_list(atype) or pa.types.is_fixed_size_list(atype):
        return tuple(normalise_arrow(v, atype.value_type) for v in value)
    raise ValueError(f"no normal form for Arrow type {atype}")


# ---------------------------------------------------------------------------------------------
# rows


@dataclass(frozen=True)
class Rows:
    """A multiset of rows: column names (sorted) and rows (tuples in that column order, sorted)."""

    columns: tuple[str, ...]
    rows: tuple[tuple, ...]

    @staticmethod
    def of(columns: Iterable[str], rows: Iterable[tuple]) -> "Rows":
        return Rows(tuple(columns), tuple(sorted(rows, key=repr)))

    def __len__(self) -> int:
        return len(self.rows)


def arrow_rows(table: pa.Table) -> Rows:
    """Rows of a pyarrow table (an input the test wrote, or what deltalake read)."""
    names = sorted(table.column_names)
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate column names: {table.column_names}")
    types = {f.name: f.type for f in table.schema}
    rows = [tuple(normalise_arrow(r[n], types[n]) for n in names) for r in table.to_pylist()]
    return Rows.of(names, rows)


def concat_rows(*parts: Rows) -> Rows:
    columns = {p.columns for p in parts}
    assert len(columns) == 1, f"cannot concatenate rows with different columns: {columns}"
    return Rows.of(parts[0].columns, [r for p in parts for r in p.rows])


def local_fs(table: Path | str) -> pafs.FileSystem:
    # deltalake's default filesystem for to_pyarrow_table is a pyarrow PyFileSystem that calls back
    # into Python from Arrow's C++ threads; with deltalake 1.6.6 that makes the interpreter abort
    # at exit now and then ("terminate called without an active exception"), which would turn a
    # green run red. A plain local filesystem rooted at the table avoids it; deltalake still
    # decides which files (and partition values) make up the version.
    return pafs.SubTreeFileSystem(str(Path(table).resolve()), pafs.LocalFileSystem())


def deltalake_table(
    table: Path | str, version: int | None = None, as_of: dt.datetime | None = None
) -> DeltaTable:
    dtab = DeltaTable(str(table), version=version) if version is not None else DeltaTable(str(table))
    if as_of is not None:
        dtab.load_as_version(as_of)
    return dtab


def deltalake_rows(table: Path | str, version: int | None = None, as_of: dt.datetime | None = None) -> Rows:
    dtab = deltalake_table(table, version, as_of)
    data = dtab.to_pyarrow_table(filesystem=local_fs(table))
    schema_names = sorted(f.name for f in dtab.schema().fields)
    assert sorted(data.column_names) == schema_names, (
        f"deltalake returned columns {sorted(data.column_names)} for a schema with {schema_names}"
    )
    return arrow_rows(data)


def tidemark_rows(table: Path | str, version: int | None = None, timestamp: str | None = None) -> Rows:
    """Rows of `tidemark scan --format json`, typed by the schema `tidemark describe` reports."""
    schema = tidemark_describe(table, version, timestamp)["schema"]
    fields = {f["name"]: f["type"] for f in schema["fields"]}
    names = sorted(fields)
    out = tidemark("scan", table, *_at(version, timestamp), "--format", "json").stdout
    rows = []
    for lineno, line in enumerate(out.splitlines(), 1):
        if not line.strip():
            continue
        obj = json.loads(line, parse_float=Decimal)
        unknown = set(obj) - set(fields)
        if unknown:
            raise AssertionError(f"line {lineno} of tidemark's JSON has columns not in the schema: {sorted(unknown)}")
        try:
            rows.append(tuple(normalise_delta(obj.get(n), fields[n]) for n in names))
        except ValueError as e:
            raise AssertionError(f"line {lineno} of tidemark's JSON output: {e}\n{line}") from None
    return Rows.of(names, rows)


def tidemark_parquet_rows(table: Path | str, out_dir: Path, version: int | None = None) -> Rows:
    """Rows of `tidemark scan --format parquet --output FILE`, read back with pyarrow."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"scan-{version if version is not None else 'latest'}.parquet"
    tidemark("scan", table, *_at(version, None), "--format", "parquet", "--output", target)
    return arrow_rows(pq.read_table(target))


def _column_hint(expected: Rows, actual: Rows) -> list[str]:
    """For rows that differ, which columns' value multisets differ (and how)."""
    hints = []
    for i, name in enumerate(expected.columns):
        e = collections.Counter(r[i] for r in expected.rows)
        a = collections.Counter(r[i] for r in actual.rows)
        if e != a:
            missing = list((e - a).elements())[:5]
            extra = list((a - e).elements())[:5]
            hints.append(f"  column {name!r}: expected but not found {missing}; found but not expected {extra}")
    return hints


def assert_same_rows(expected: Rows, actual: Rows, what: str, expected_name: str = "expected", actual_name: str = "actual") -> None:
    """Fails with a precise report (missing/extra rows, differing columns) unless equal multisets."""
    if expected.columns != actual.columns:
        pytest.fail(
            f"{what}: columns differ\n  {expected_name}: {list(expected.columns)}\n  {actual_name}: {list(actual.columns)}",
            pytrace=False,
        )
    e = collections.Counter(expected.rows)
    a = collections.Counter(actual.rows)
    if e == a:
        return
    missing = list((e - a).elements())
    extra = list((a - e).elements())
    lines = [
        f"{what}: rows differ ({expected_name}: {len(expected)} rows, {actual_name}: {len(actual)} rows)",
        f"  columns: {list(expected.columns)}",
        f"  in {expected_name} only ({len(missing)}):",
        *[f"    {r}" for r in missing[:10]],
        f"  in {actual_name} only ({len(extra)}):",
        *[f"    {r}" for r in extra[:10]],
        "  by column:",
        *_column_hint(expected, actual),
    ]
    pytest.fail("\n".join(lines), pytrace=False)


# ---------------------------------------------------------------------------------------------
# schemas, times


def simplify_delta_type(dtype: Any) -> Any:
    """A Delta type without field metadata, for comparing schemas structurally."""
    if isinstance(dtype, str):
        return re.sub(r"\s+", "", dtype)
    kind = dtype["type"]
    if kind == "struct":
        return ("struct", tuple((f["name"], simplify_delta_type(f["type"]), bool(f.get("nullable", True))) for f in dtype["fields"]))
    if kind == "array":
        return ("array", simplify_delta_type(dtype["elementType"]), bool(dtype.get("containsNull", True)))
    if kind == "map":
        return (
            "map",
            simplify_delta_type(dtype["keyType"]),
            simplify_delta_type(dtype["valueType"]),
            bool(dtype.get("valueContainsNull", True)),
        )
    raise ValueError(f"unknown Delta type {dtype!r}")


def deltalake_schema(table: Path | str, version: int | None = None) -> Any:
    return simplify_delta_type(json.loads(deltalake_table(table, version).schema().to_json()))


def rfc3339_ms(ms: int) -> str:
    """An RFC 3339 instant (UTC, milliseconds) for a time in milliseconds since the epoch."""
    t = _EPOCH_UTC + dt.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def parse_rfc3339_ms(text: str) -> int:
    """Milliseconds since the epoch of an RFC 3339 instant (as `tidemark history` prints)."""
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError(f"instant without a time zone: {text!r}")
    return (t - _EPOCH_UTC) // dt.timedelta(milliseconds=1)


def now_ms() -> int:
    return (dt.datetime.now(dt.timezone.utc) - _EPOCH_UTC) // dt.timedelta(milliseconds=1)


def commit_file(table: Path | str, version: int) -> Path:
    return Path(table) / "_delta_log" / f"{version:020d}.json"


def commit_mtime_ms(table: Path | str, version: int) -> int:
    return os.stat(commit_file(table, version)).st_mtime_ns // 1_000_000


def parse_version_line(stdout: str) -> int:
    """The new version from a write command's `version N` line on standard output."""
    m = re.search(r"^version (\d+)\s*$", stdout, re.MULTILINE)
    if not m:
        raise AssertionError(f"no 'version N' line in the command's output: {stdout!r}")
    return int(m.group(1))


def check_versions_agree(table: Path, expected: Sequence[Rows] | None = None, what: str = "") -> None:
    """For every version of the table: tidemark's rows == deltalake's rows (== expected[v] if given),
    and tidemark's schema == deltalake's schema."""
    latest = deltalake_table(table).version()
    if expected is not None:
        assert latest == len(expected) - 1, f"{what}: table has versions 0..{latest}, the test expected 0..{len(expected) - 1}"
    label = what or Path(table).name
    for v in range(latest + 1):
        d_rows = deltalake_rows(table, v)
        t_rows = tidemark_rows(table, v)
        if expected is not None:
            assert_same_rows(expected[v], d_rows, f"{label} version {v}", "expected (test's own data)", "deltalake")
            assert_same_rows(expected[v], t_rows, f"{label} version {v}", "expected (test's own data)", "tidemark scan")
        else:
            assert_same_rows(d_rows, t_rows, f"{label} version {v}", "deltalake", "tidemark scan")
        t_schema = simplify_delta_type(tidemark_describe(table, v)["schema"])
        d_schema = deltalake_schema(table, v)
        assert t_schema == d_schema, f"{label} version {v}: schema differs\n  deltalake: {d_schema}\n  tidemark: {t_schema}"
    # The latest version, read without --version, is the last one.
    reference = expected[latest] if expected is not None else deltalake_rows(table, latest)
    assert_same_rows(reference, tidemark_rows(table), f"{label} latest version (no --version)", "expected" if expected is not None else "deltalake", "tidemark scan")


def check_history(table: Path, what: str = "") -> list[dict]:
    """`tidemark history --format json` lists every version, newest first, with the same
    operations deltalake reports."""
    label = what or Path(table).name
    latest = deltalake_table(table).version()
    entries = tidemark_history(table)
    versions = [e["version"] for e in entries]
    assert versions == list(range(latest, -1, -1)), f"{label}: tidemark history versions {versions}, expected {latest}..0"
    d_hist = {h["version"]: h for h in deltalake_table(table).history()}
    for e in entries:
        d_op = d_hist.get(e["version"], {}).get("operation")
        assert e["operation"] == d_op, f"{label} version {e['version']}: tidemark says operation {e['operation']!r}, deltalake {d_op!r}"
    return entries
