"""Retro-review on Spark (local mode): every column of every row, and the summary, equal to
the in-process run, for CSV, JSON lines and Parquet claims, with bad rows and --compare-to.

One Spark session for the module (local[2], no UI, bound to 127.0.0.1, a temporary local
dir): starting Spark is most of the cost.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _java_problem() -> str:
    java = shutil.which("java")
    home = os.environ.get("JAVA_HOME")
    if java is None and home:
        candidate = Path(home) / "bin" / "java"
        java = str(candidate) if candidate.is_file() else None
    if java is None:
        return "no Java runtime (java on PATH or JAVA_HOME): Spark needs Java 17+"
    try:
        subprocess.run([java, "-version"], capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"the Java runtime does not start ({type(exc).__name__}): Spark needs Java 17+"
    return ""


pytest.importorskip("pyspark", reason="PySpark is not installed (pip install 'rxpolicy[spark]')")
pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install 'rxpolicy[spark]')")
pq = pytest.importorskip("pyarrow.parquet")
if problem := _java_problem():
    pytest.skip(problem, allow_module_level=True)

from rxpolicy.server.cli import main  # noqa: E402
from rxpolicy.server.retro import parquet  # noqa: E402
from rxpolicy.server.retro.pipeline import RetroOptions, run_retro  # noqa: E402
from rxpolicy.server.retro.spark_job import RetroError, SparkOptions, run_spark, start_session  # noqa: E402
from rxpolicy.server.retro.synth import write_claims  # noqa: E402

FIXTURES = Path(__file__).parent / "retro_fixtures"
COUNT = 2500
SEED = 31
INVALID = 0.08


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    local_dir = tmp_path_factory.mktemp("spark-local")
    options = SparkOptions(
        claims="",
        out_dir="",
        master="local[2]",
        conf=(
            ("spark.local.dir", str(local_dir)),
            ("spark.sql.shuffle.partitions", "2"),
            ("spark.default.parallelism", "2"),
            # Small batches: a file's claims are decided in several chunks, and the
            # chunks' counts must still merge in input order.
            ("spark.sql.execution.arrow.maxRecordsPerBatch", "700"),
        ),
    )
    session = start_session(options)
    assert session.sparkContext.getConf().get("spark.driver.bindAddress") == "127.0.0.1"
    assert session.sparkContext.getConf().get("spark.ui.enabled") == "false"
    yield session
    session.stop()


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("claims")
    paths: dict[str, Path] = {}
    for fmt in ("csv", "jsonl"):
        paths[fmt] = root / f"claims.{fmt}"
        with paths[fmt].open("w", encoding="utf-8", newline="") as f:
            write_claims(f, COUNT, SEED, fmt, INVALID)
    paths["parquet"] = root / "claims.parquet"
    parquet.write_claims(paths["parquet"], COUNT, SEED, INVALID)
    return paths


def in_process(claims: Path, out: Path, fmt: str, **extra: Any) -> dict[str, Any]:
    run = run_retro(
        RetroOptions(claims=str(claims), out_dir=out, output_format=fmt, workers=1, progress=False, **extra)
    )
    assert run.rows_match
    return run.summary


def on_spark(spark: Any, claims: Path, out: Path, fmt: str, **extra: Any) -> dict[str, Any]:
    run = run_spark(SparkOptions(claims=str(claims), out_dir=str(out), output_format=fmt, **extra), spark)
    assert run.rows_match
    assert run.results == f"{out}/results.{fmt}"
    return run.summary


def same_summary(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.pop("run")["mode"] == "in process"
    assert b.pop("run")["mode"].startswith("spark local")
    # The provenance says how each run was made (times, engine, options): compared apart.
    pa, pb = a.pop("provenance"), b.pop("provenance")
    assert pa["policy_set_digest"] == pb["policy_set_digest"] and pa["versions"] == pb["versions"]
    assert pa["input"]["rows"] == pb["input"]["rows"]
    assert pb["options"]["engine"] == "spark" and "--engine spark" in pb["rerun"]
    assert a == b


def parquet_rows(path: Path) -> list[dict[str, Any]]:
    return [r for f in sorted(path.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def csv_rows(path: Path) -> list[dict[str, str]]:
    files = sorted(path.glob("part-*.csv")) if path.is_dir() else [path]
    rows: list[dict[str, str]] = []
    for f in files:
        with f.open(encoding="utf-8", newline="") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_spark_equals_in_process_with_compare_to(
    spark: Any, claims: dict[str, Path], tmp_path: Path, fmt: str
) -> None:
    local, remote = tmp_path / "local", tmp_path / "spark"
    a = in_process(claims[fmt], local, "parquet", compare_to="latest")
    b = on_spark(spark, claims[fmt], remote, "parquet", compare_to="latest")
    expected = pq.read_table(local / "results.parquet").to_pylist()
    got = parquet_rows(remote / "results.parquet")
    assert len(got) == len(expected) == COUNT
    assert got == expected  # every column of every row, in input order
    decisions = {r["decision"] for r in got}
    assert decisions == {"approve", "deny", "pend", "refer", "error"}
    assert any(r["changed"] == "decision" for r in got)
    assert b["rows"] == {"in": COUNT, "out": COUNT, "match": True, "blank_lines_skipped": 0}
    same_summary(a, b)
    # Member data: readable by the owner only.
    for path in [remote / "summary.json", remote / "report.html", *(remote / "results.parquet").iterdir()]:
        assert path.stat().st_mode & 0o077 == 0, path
    assert (remote / "report.html").read_text(encoding="utf-8") != ""


@pytest.mark.parametrize(
    ("name", "fmt"), [("bad_rows.csv", "csv"), ("stray_quotes.csv", "csv"), ("bad_rows.jsonl", "jsonl")]
)
def test_spark_bad_rows_as_in_process_csv_results(spark: Any, tmp_path: Path, name: str, fmt: str) -> None:
    claims = tmp_path / name
    data = (FIXTURES / name).read_bytes()
    if fmt == "csv":
        # A row that is not UTF-8 must become an error row on Spark too.
        data += b"LATIN1-\xe9,2021-03-01,medicaid,initial,64,multiple_myeloma,,,,,,\n"
    claims.write_bytes(data)
    a = in_process(claims, tmp_path / "local", "csv", compare_to="4.0.0", ignore_unknown_columns=True)
    b = on_spark(spark, claims, tmp_path / "spark", "csv", compare_to="4.0.0", ignore_unknown_columns=True)
    expected = csv_rows(tmp_path / "local" / "results.csv")
    got = csv_rows(tmp_path / "spark" / "results.csv")
    assert got == expected
    assert any(r["decision"] == "error" for r in got)
    assert b["rows"]["blank_lines_skipped"] == a["rows"]["blank_lines_skipped"]
    same_summary(a, b)


def test_spark_as_known_on_and_several_part_files(spark: Any, tmp_path: Path) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(3):
        parquet.write_claims(parts / f"part-{i}.parquet", 300, seed=100 + i, invalid_rate=0.05)
    whole = tmp_path / "whole.parquet"
    pq.write_table(pa.concat_tables(pq.read_table(parts / f"part-{i}.parquet") for i in range(3)), whole)
    a = in_process(whole, tmp_path / "local", "parquet", as_known_on=_date("2022-06-01"))
    b = on_spark(spark, parts, tmp_path / "spark", "parquet", as_known_on=_date("2022-06-01"))
    expected = pq.read_table(tmp_path / "local" / "results.parquet").to_pylist()
    got = parquet_rows(tmp_path / "spark" / "results.parquet")
    # A directory of parts is one table: files in name order, lines numbered across them.
    assert got == expected
    assert {r["version"] for r in got if r["version"]} <= {
        "1.0.0",
        "1.1.0",
        "2.0.0",
        "2.1.0",
        "3.0.0",
        "4.0.0",
        "4.1.0",
    }
    a.pop("input")
    b.pop("input")
    same_summary(a, b)


def test_spark_refuses_a_bad_header_and_a_server(spark: Any, tmp_path: Path) -> None:
    claims = tmp_path / "bad.csv"
    claims.write_text("claim_id,diagnoses\nA,multiple_myeloma\n")
    with pytest.raises(RetroError, match=r"unknown column\(s\) diagnoses"):
        run_spark(SparkOptions(claims=str(claims), out_dir=str(tmp_path / "out")), spark)
    with pytest.raises(RetroError, match="no version"):
        run_spark(SparkOptions(claims=str(claims), out_dir=str(tmp_path / "out"), compare_to="0.1.0"), spark)
    code = main(["retro", str(claims), "--out", str(tmp_path / "o"), "--engine", "spark", "--server", "x:1"])
    assert code == 1


def test_spark_submit_entry_point_help() -> None:
    # The module spark-submit runs (python -m ... --help needs no Spark session).
    done = subprocess.run(
        [sys.executable, "-m", "rxpolicy.server.retro.spark_job", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0
    assert "--compare-to" in done.stdout and "spark-submit" in done.stdout


LAUNCHER = "from rxpolicy.server.retro.spark_job import main\nraise SystemExit(main())\n"


def test_spark_submit_runs_the_job(claims: dict[str, Path], tmp_path: Path) -> None:
    submit = Path(sys.executable).parent / "spark-submit"
    if not submit.is_file():
        found = shutil.which("spark-submit")
        if found is None:
            pytest.skip("spark-submit is not on PATH nor beside this Python (pip install pyspark ships it)")
        submit = Path(found)
    launcher = tmp_path / "rxretro.py"
    launcher.write_text(LAUNCHER)  # the README's two-line launcher
    small = tmp_path / "small.parquet"
    parquet.write_claims(small, 300, seed=7, invalid_rate=0.1)
    local = in_process(small, tmp_path / "local", "parquet", compare_to="latest")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    settings = {
        "spark.ui.enabled": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.local.dir": str(tmp_path / "spark-local"),
        "spark.sql.shuffle.partitions": "2",
    }
    done = subprocess.run(
        [
            str(submit),
            "--master",
            "local[1]",
            *(x for k, v in settings.items() for x in ("--conf", f"{k}={v}")),
            str(launcher),
            str(small),
            "--out",
            str(tmp_path / "spark"),
            "--compare-to",
            "latest",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # spark-submit passes the Python driver's output on through its own standard output.
    assert "rows in = rows out" in done.stdout + done.stderr
    expected = pq.read_table(tmp_path / "local" / "results.parquet").to_pylist()
    assert parquet_rows(tmp_path / "spark" / "results.parquet") == expected
    same_summary(local, json.loads((tmp_path / "spark" / "summary.json").read_text(encoding="utf-8")))


def test_cli_engine_spark(spark: Any, claims: dict[str, Path], tmp_path: Path) -> None:
    # Last in the module: the CLI stops the session it gets (the shared one) when done.
    out = tmp_path / "out"
    code = main(
        [
            "retro",
            str(claims["jsonl"]),
            "--out",
            str(out),
            "--engine",
            "spark",
            "--spark-master",
            "local[2]",
            "--spark-conf",
            "spark.sql.shuffle.partitions=2",
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows"]["match"] is True and summary["rows"]["in"] == COUNT
    assert summary["output"] == {"results": "results.parquet", "format": "parquet"}


def _date(text: str) -> Any:
    import datetime as dt

    return dt.date.fromisoformat(text)
