"""Concurrent writers on S3: 8 `tidemark write` processes append 25 times each to one `s3://`
table served by moto (`moto[server]`, started here on 127.0.0.1 and stopped afterwards).

Commits use put-if-absent (`If-None-Match: *`); the test first checks that the server honours
it, then that the 200 concurrent appends end in exactly 200 new versions, every row present
exactly once, versions contiguous and in-commit timestamps strictly increasing.

Skipped, with a message, when moto is not installed (it is pinned in requirements.txt as
`moto[server]`).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

moto_server = pytest.importorskip(
    "moto.server",
    reason="moto is not installed: add `moto[server]` to integration/requirements.txt to run the S3 tests",
)

WRITERS = 8
WRITES = 25
BUCKET = "tidemark-reliability"


def _bin() -> str:
    path = os.environ.get("TIDEMARK_BIN")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("TIDEMARK_BIN is not set to an executable: run the suite through integration/run", pytrace=False)
    return path


@pytest.fixture(scope="module")
def s3_endpoint():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        request = urllib.request.Request(f"{endpoint}/{BUCKET}", method="PUT")
        urllib.request.urlopen(request, timeout=30).close()
        yield endpoint
    finally:
        server.stop()


def _env(endpoint: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ENDPOINT": endpoint,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    return env


def _run(endpoint: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([_bin(), *args], capture_output=True, text=True, timeout=300, env=_env(endpoint))
    if check and proc.returncode != 0:
        pytest.fail(f"tidemark {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}", pytrace=False)
    return proc


def test_moto_honours_if_none_match(s3_endpoint):
    # boto3 comes with moto; requests are signed as object_store signs them.
    boto3 = pytest.importorskip("boto3")
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.put_object(Bucket=BUCKET, Key="probe/once", Body=b"first", IfNoneMatch="*")
    with pytest.raises(client.exceptions.ClientError) as refused:
        client.put_object(Bucket=BUCKET, Key="probe/once", Body=b"second", IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed", refused.value.response
    body = client.get_object(Bucket=BUCKET, Key="probe/once")["Body"].read()
    assert body == b"first", "a refused conditional put must not overwrite"


def test_eight_processes_append_25_times_each_on_s3(s3_endpoint, tmp_path: Path):
    table = f"s3://{BUCKET}/concurrent"
    first = tmp_path / "first.csv"
    first.write_text("id,who\n-1,init\n")
    _run(s3_endpoint, "write", table, str(first), "--message", "init")

    def writer(p: int) -> list[tuple[int, str]]:
        done = []
        for i in range(WRITES):
            path = tmp_path / f"in-{p}-{i}.csv"
            path.write_text(f"id,who\n{p * 1000 + i},p{p}-{i}\n")
            message = f"p{p}-{i}"
            proc = _run(s3_endpoint, "write", table, str(path), "--message", message)
            version = int(proc.stdout.strip().removeprefix("version "))
            done.append((version, message))
        return done

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        results = [item for part in pool.map(writer, range(WRITERS)) for item in part]
    elapsed = time.monotonic() - started
    print(f"s3/moto: {WRITERS} processes x {WRITES} appends in {elapsed:.1f}s")

    reported = dict(results)
    assert len(reported) == WRITERS * WRITES, "every write reported its own version"

    history = json.loads(_run(s3_endpoint, "history", table, "--format", "json").stdout)
    history.sort(key=lambda d: d["version"])
    assert len(history) == 1 + WRITERS * WRITES, "exactly 200 new versions"
    previous = None
    for index, entry in enumerate(history):
        assert entry["version"] == index, "versions are contiguous"
        info = entry["commitInfo"]
        ict = info["inCommitTimestamp"]
        assert previous is None or ict > previous, f"in-commit timestamps strictly increase at {index}"
        previous = ict
        if index > 0:
            assert info.get("userMetadata") == reported[index], f"version {index} holds its writer's commit"

    out = _run(s3_endpoint, "scan", table, "--format", "csv", "--columns", "id").stdout
    ids = sorted(int(line) for line in out.splitlines()[1:])
    expected = sorted([-1] + [p * 1000 + i for p in range(WRITERS) for i in range(WRITES)])
    assert ids == expected, "every row exactly once"


MIXED_PROCESSES = 3
MIXED_SECONDS = float(os.environ.get("TIDEMARK_S3_MIXED_SECS", "20"))
ALLOWED_REFUSALS = ("conflict", "deleted", "vacuum", "cannot be restored", "missing")


def _ids(endpoint: str, table: str, *selector: str) -> list[int]:
    out = _run(endpoint, "scan", table, *selector, "--format", "csv", "--columns", "id").stdout
    return sorted(int(line) for line in out.splitlines()[1:])


def test_mixed_appends_restores_vacuums_tags_and_pins_on_s3(s3_endpoint, tmp_path: Path):
    """The local mixed run (crates/tidemark-cli/tests/concurrency.rs), shorter, on S3: 3
    processes for 20 s appending, restoring, vacuuming at zero retention, tagging and pinning
    at random; at the end every tag and pin reads what it read when made, the latest version
    reads, and every acknowledged append is the commit of the version it reported."""
    import random

    table = f"s3://{BUCKET}/mixed"
    first = tmp_path / "first.csv"
    first.write_text("id,who\n-1,init\n")
    _run(s3_endpoint, "write", table, str(first), "--message", "init")
    newest = [0]
    until = time.monotonic() + MIXED_SECONDS

    def worker(p: int) -> dict:
        rng = random.Random(p)
        seen = {"appends": [], "tags": [], "pins": [], "tried": [0] * 5, "refused": [0] * 5}
        i = 0
        while time.monotonic() < until:
            i += 1
            roll = rng.randrange(100)
            version = str(rng.randrange(newest[0] + 1))
            if roll < 60:
                kind = 0
                row = p * 1_000_000 + i
                path = tmp_path / f"mixed-{p}-{i}.csv"
                path.write_text(f"id,who\n{row},p{p}-{i}\n")
                message = f"mixed p{p}-{i}"
                proc = _run(s3_endpoint, "write", table, str(path), "--message", message, check=False)
                if proc.returncode == 0:
                    v = int(proc.stdout.strip().splitlines()[-1].removeprefix("version "))
                    newest[0] = max(newest[0], v)
                    seen["appends"].append((v, message))
            elif roll < 70:
                kind = 1
                proc = _run(s3_endpoint, "restore", table, "--version", version, check=False)
            elif roll < 78:
                kind = 2
                proc = _run(
                    s3_endpoint, "vacuum", table, "--retain", "0", "--allow-short-retention", "--execute", check=False
                )
            elif roll < 89:
                kind = 3
                name = f"p{p}-{i}"
                proc = _run(s3_endpoint, "tag", table, "create", name, "--version", version, check=False)
                if proc.returncode == 0:
                    seen["tags"].append((name, _ids(s3_endpoint, table, "--tag", name)))
            else:
                kind = 4
                proc = _run(
                    s3_endpoint, "pin", table, "create", "--version", version, "--owner", f"run-{p}-{i}", check=False
                )
                if proc.returncode == 0:
                    seen["pins"].append((version, _ids(s3_endpoint, table, "--version", version)))
            seen["tried"][kind] += 1
            if proc.returncode != 0:
                assert any(word in proc.stderr for word in ALLOWED_REFUSALS), (
                    f"process {p}, operation {kind}, failed unexpectedly: {proc.stderr}"
                )
                seen["refused"][kind] += 1
        return seen

    with ThreadPoolExecutor(max_workers=MIXED_PROCESSES) as pool:
        results = list(pool.map(worker, range(MIXED_PROCESSES)))

    tried = [sum(r["tried"][k] for r in results) for k in range(5)]
    refused = [sum(r["refused"][k] for r in results) for k in range(5)]
    history = json.loads(_run(s3_endpoint, "history", table, "--format", "json").stdout)
    history.sort(key=lambda d: d["version"])
    print(
        f"s3/moto mixed run, {MIXED_PROCESSES} processes, {MIXED_SECONDS:.0f}s: {len(history)} versions; "
        f"tried/refused appends {tried[0]}/{refused[0]}, restores {tried[1]}/{refused[1]}, "
        f"vacuums {tried[2]}/{refused[2]}, tags {tried[3]}/{refused[3]}, pins {tried[4]}/{refused[4]}"
    )
    assert tried[2] > refused[2], "some vacuums ran"
    by_version = {}
    for index, entry in enumerate(history):
        assert entry["version"] == index, "versions are contiguous"
        by_version[index] = entry["commitInfo"]
    _ids(s3_endpoint, table)  # the latest version reads
    reported = [v for r in results for v, _ in r["appends"]]
    assert len(reported) == len(set(reported)), "no version reported by two appends"
    for r in results:
        for v, message in r["appends"]:
            assert by_version[v].get("userMetadata") == message, f"version {v} holds the append that reported it"
        for name, ids in r["tags"]:
            assert _ids(s3_endpoint, table, "--tag", name) == ids, f"tag {name} reads what it read when made"
        for version, ids in r["pins"]:
            assert _ids(s3_endpoint, table, "--version", version) == ids, f"pinned version {version} reads the same"
