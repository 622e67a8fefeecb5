"""Retro-review on Apache Spark: the same rows, summary and report as in process.

Spark only moves records and rows; every claim is read, decided and turned into its
result row by the worker code of the in-process run (``worker.build_processor`` and
``ChunkProcessor.process``), one Arrow batch at a time inside ``mapInArrow``, with the
store built once per Python worker (``_processor``) and kept for every later task.
Each batch sends back its rows and its counts (the chunk's ``Tally``, pickled); the
driver merges the counts in input order and builds ``summary.json`` and
``report.html`` with the in-process code. So the output cannot drift from the
in-process output as those modules change.

Input order is kept as a sort key, (file, position in the file): files in name order,
then a Parquet row's index in its file or a text record's line. Parquet files are
split by Spark as usual; a CSV or JSON-lines file is read whole by one task and split
into records by ``records.RecordReader`` (a quoted cell may span lines, and a stray
quote is only found by reading from the file's start), then the records are spread
over the cluster to be decided. The rows written and the records read are both
counted by Spark, and must equal each other and the rows counted into the summary.

Run it with ``rxpolicy retro --engine spark`` or, on a cluster, with ``spark-submit``
and a launcher file that calls ``main()`` (the README shows it); ``python -m
rxpolicy.server.retro.spark_job --help`` lists the options.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gzip
import hashlib
import io
import json
import os
import pickle
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from ..engine.errors import NotFound, PolicyLoadError
from ..engine.store import VersionStore
from . import parquet
from .columns import CLAIM_ID, HeaderError, fact_types, layout
from .deciders import internal_error
from .duplicates import Duplicates
from .provenance import now, rerun_command, rxpolicy_version, version_entry
from .records import Chunk, InputFormat, RecordReader
from .report import render_report
from .results import csv_header, format_rows, make_row
from .summary import build_summary
from .tally import Tally
from .worker import ChunkProcessor, ChunkResult, WorkerConfig, build_processor

SparkResultsFormat = Literal["parquet", "csv"]
MISSING = (
    "--engine spark needs PySpark, which is not installed: pip install 'rxpolicy[spark]' "
    "(and a Java 17+ runtime)"
)
# Columns added to the result rows inside the job (dropped before writing).
FILE = "_rx_file"
POS = "_rx_pos"
COUNTS = "_rx_counts"
# Text-record kinds from the splitting stage.
HEADER, RECORD, BLANKS = "header", "record", "blanks"


class RetroError(Exception):
    """The run cannot start or go on; the message says why (no member data)."""


@attrs.frozen
class SparkOptions:
    claims: str  # any path Spark can read: a file, a directory of parts, a glob
    out_dir: str  # any path Spark can write
    input_format: parquet.ClaimsFormat | None = None
    output_format: SparkResultsFormat = "parquet"
    master: str | None = "local[*]"  # None: as spark-submit (or the session) says
    conf: tuple[tuple[str, str], ...] = ()
    partitions: int | None = None  # deciding tasks; None: Spark's parallelism (or more, see _spread)
    policies: str | None = None
    policy_id: str | None = None
    as_known_on: dt.date | None = None
    compare_to: str | None = None
    ignore_unknown_columns: bool = False


@attrs.frozen
class SparkRun:
    rows_in: int  # records read, counted by Spark
    rows_out: int  # rows in the results written, read back and counted by Spark
    rows_counted: int  # rows counted into summary.json
    results: str
    summary_path: str
    report: str
    summary: dict[str, Any]
    startup_seconds: float  # starting the Spark session (apart from the review)

    @property
    def rows_match(self) -> bool:
        return self.rows_in == self.rows_out == self.rows_counted


# ------------------------------------------------------------------ in the Python workers

# One processor per configuration per Python worker: Spark reuses its Python workers
# (spark.python.worker.reuse, on by default), so the store is loaded once per worker,
# not once per task or per row. The configuration names the policies directory.
_PROCESSORS: dict[WorkerConfig, ChunkProcessor] = {}


def _processor(config: WorkerConfig) -> ChunkProcessor:
    found = _PROCESSORS.get(config)
    if found is None:
        found = _PROCESSORS[config] = build_processor(config)
    return found


def _failed_chunk(config: WorkerConfig, chunk: Chunk, exc: BaseException) -> ChunkResult:
    """Error rows for a chunk whose processing failed unexpectedly, so no row is lost."""
    compare = config.compare_to is not None
    tally = Tally()
    rows = []
    for line in chunk.lines:
        error = internal_error(exc)
        row = make_row(line, "", "", error, error if compare else None)
        tally.add(row, error, known=())
        if compare:
            tally.add_compare(row, known=())
        rows.append(row)
    return ChunkResult(chunk.index, len(rows), format_rows(rows, config.output_format, compare), tally)


def _result_batch(
    config: WorkerConfig, output: SparkResultsFormat, file_index: int, positions: Sequence[int], chunk: Chunk
) -> Any:
    """Decide one chunk; its rows as an Arrow batch with the sort key and, on the first
    row only, the chunk's pickled counts."""
    pa = parquet.pyarrow()
    compare = config.compare_to is not None
    try:
        result = _processor(config).process(chunk)
    except Exception as exc:
        result = _failed_chunk(config, chunk, exc)
    if output == "csv":
        batch = _csv_batch(result.data, compare)
    else:
        batch = parquet.rows_batch(parquet.rows_of_jsonl(result.data), compare)
    # The driver checks records sent = rows made = rows counted, per chunk.
    counts = pickle.dumps((len(chunk.records), attrs.evolve(result, data=b"")))
    n = batch.num_rows
    extra = {
        FILE: pa.array([file_index] * n, pa.int32()),
        POS: pa.array(list(positions)[:n], pa.int64()),
        COUNTS: pa.array([counts] + [None] * (n - 1) if n else [], pa.binary()),
    }
    return pa.RecordBatch.from_arrays(
        [*batch.columns, *extra.values()], names=[*batch.schema.names, *extra.keys()]
    )


def _csv_batch(data: bytes, compare: bool) -> Any:
    """The results' CSV cells (as the in-process CSV) as an Arrow batch of text columns."""
    import csv

    pa = parquet.pyarrow()
    names = csv_header(compare)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    columns = [pa.array([r[i] for r in rows], pa.string()) for i in range(len(names))]
    return pa.RecordBatch.from_arrays(columns, names=names)


def decide_parquet_batches(
    batches: Iterable[Any],
    *,
    config: WorkerConfig,
    output: SparkResultsFormat,
    columns: Sequence[str],
    files: Mapping[str, tuple[int, int]],
) -> Iterator[Any]:
    """mapInArrow over Parquet claims: ``files`` maps a file to (its index, the rows of
    the files before it), so a row's line is its number in the whole input, from 1."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        file_paths = batch.column(batch.schema.get_field_index(FILE)).to_pylist()
        indexes = batch.column(batch.schema.get_field_index(POS)).to_pylist()
        records = parquet.batch_records(batch, columns)
        # A batch holds rows of one file split, but group by file to be sure.
        start = 0
        while start < len(records):
            end = start
            while end < len(records) and file_paths[end] == file_paths[start]:
                end += 1
            index, before = files[file_paths[start]]
            positions = indexes[start:end]
            lines = tuple(before + p + 1 for p in positions)
            chunk = Chunk(0, tuple(records[start:end]), lines, sum(len(r) for r in records[start:end]))
            yield _result_batch(config, output, index, positions, chunk)
            start = end


def decide_text_batches(
    batches: Iterable[Any], *, config: WorkerConfig, output: SparkResultsFormat
) -> Iterator[Any]:
    """mapInArrow over records already split from text files (FILE, POS = line, record)."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        files = batch.column(0).to_pylist()
        lines = batch.column(1).to_pylist()
        records = batch.column(2).to_pylist()
        start = 0
        while start < len(records):
            end = start
            while end < len(records) and files[end] == files[start]:
                end += 1
            chunk = Chunk(
                0, tuple(records[start:end]), tuple(lines[start:end]), sum(len(r) for r in records[start:end])
            )
            yield _result_batch(config, output, files[start], lines[start:end], chunk)
            start = end


def split_text_files(
    batches: Iterable[Any], *, fmt: InputFormat, files: Mapping[str, int], csv_width: int | None
) -> Iterator[Any]:
    """mapInArrow over whole files (binaryFile: path, content): their records, exactly as
    the in-process reader splits them. ``csv_width``: the header's number of columns
    (None on the first pass, which only reads headers)."""
    pa = parquet.pyarrow()
    for batch in batches:
        paths = batch.column(0).to_pylist()
        contents = batch.column(1).to_pylist()
        for path, content in zip(paths, contents, strict=True):
            data = gzip.decompress(content) if path.endswith(".gz") else content
            reader = RecordReader(io.BytesIO(data), fmt)
            kinds: list[str] = []
            lines: list[int] = []
            records: list[bytes] = []
            it = iter(reader)
            if fmt == "csv":
                first = next(it, None)
                if first is not None:
                    kinds.append(HEADER)
                    lines.append(first[0])
                    records.append(first[1])
                if csv_width is None:  # the header pass
                    it = iter(())
                reader.columns = csv_width
            for line, record in it:
                kinds.append(RECORD)
                lines.append(line)
                records.append(record)
            kinds.append(BLANKS)
            lines.append(reader.blank_lines)
            records.append(b"")
            n = len(kinds)
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array([files[path]] * n, pa.int32()),
                    pa.array(lines, pa.int64()),
                    pa.array(records, pa.binary()),
                    pa.array(kinds, pa.string()),
                ],
                names=[FILE, POS, "record", "kind"],
            )


# ------------------------------------------------------------------ on the driver


def _pyspark() -> Any:
    try:
        import pyspark.sql
    except ImportError:
        raise RetroError(MISSING) from None
    return pyspark.sql


def is_local(master: str | None) -> bool:
    return master is not None and master.startswith("local")


def start_session(options: SparkOptions) -> Any:
    """The Spark session. With a local master the Python workers are this interpreter, the
    driver binds to 127.0.0.1 and the web UI is off; any --spark-conf setting wins. Under
    spark-submit (no master here) its --master and --conf settings are used as given."""
    sql = _pyspark()
    builder = sql.SparkSession.builder.appName("rxpolicy-retro")
    defaults: dict[str, str] = {
        # Output files hold member data: created readable by their owner only.
        "spark.hadoop.fs.permissions.umask-mode": "077",
        # Spark's progress bar only on a terminal, like the in-process one.
        "spark.ui.showConsoleProgress": "true" if sys.stderr.isatty() else "false",
    }
    if options.master is not None:
        builder = builder.master(options.master)
    if is_local(options.master):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        defaults |= {
            "spark.ui.enabled": "false",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
        }
    for key, value in (defaults | dict(options.conf)).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def run_spark(options: SparkOptions, spark: Any = None) -> SparkRun:
    """The review on Spark. ``spark``: a session to use (tests share one); else one is
    started (and its start-up timed apart) and stopped at the end."""
    started = time.monotonic()
    started_at = now()
    store, compare_to = _load_store(options)
    own = spark is None
    if own:
        try:
            spark = start_session(options)
        except Exception as exc:  # PySpark's errors when the JVM does not start: no common base
            raise RetroError(
                f"cannot start Spark ({_first_line(exc)}); Spark needs a Java 17+ runtime "
                "(java on PATH or JAVA_HOME) and a reachable --spark-master"
            ) from None
    startup = time.monotonic() - started
    try:
        return _run(spark, options, store, compare_to, started, startup, started_at)
    finally:
        if own:
            spark.stop()


def _load_store(options: SparkOptions) -> tuple[VersionStore, str | None]:
    try:
        store = VersionStore.load(None if options.policies is None else Path(options.policies))
        store.versions(options.policy_id)
        compare_to = None
        if options.compare_to is not None:
            compare_to = store.resolve(options.compare_to, options.policy_id).version
    except PolicyLoadError as exc:
        raise RetroError("cannot load policy versions:\n" + "\n".join(f"  {e}" for e in exc.errors)) from None
    except NotFound as exc:
        raise RetroError(str(exc)) from None
    return store, compare_to


def claims_format(path: str, given: parquet.ClaimsFormat | None) -> parquet.ClaimsFormat:
    if given is not None:
        return given
    name = path.rstrip("/").lower().removesuffix(".gz")
    if name.endswith(parquet.PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    local = Path(path.removeprefix("file://"))
    if local.is_dir():
        # A directory of part files, as Spark writes them: by the parts' names.
        names = {
            p.name.lower().removesuffix(".gz") for p in local.iterdir() if not p.name.startswith(("_", "."))
        }
        if any(n.endswith(parquet.PARQUET_SUFFIXES) for n in names):
            return "parquet"
        if any(n.endswith((".jsonl", ".ndjson", ".json")) for n in names):
            return "jsonl"
        if any(n.endswith(".csv") for n in names):
            return "csv"
    raise RetroError(f"cannot tell the format of {path}: pass --input-format csv|jsonl|parquet")


def _run(
    spark: Any,
    options: SparkOptions,
    store: VersionStore,
    compare_to: str | None,
    started: float,
    startup: float,
    started_at: str,
) -> SparkRun:
    _pyspark()
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    fmt = claims_format(options.claims, options.input_format)
    types = fact_types(store.versions(options.policy_id))
    base = WorkerConfig(
        input_format="jsonl",
        output_format="jsonl" if options.output_format == "parquet" else "csv",
        ignore_unknown_columns=options.ignore_unknown_columns,
        policies=options.policies,
        policy_id=options.policy_id,
        as_known_on=options.as_known_on,
        compare_to=compare_to,
    )
    compare = compare_to is not None
    if options.output_format == "parquet":
        results_arrow = parquet.results_schema(compare)
    else:
        pa = parquet.pyarrow()
        results_arrow = pa.schema([(c, pa.string()) for c in csv_header(compare)])
    pa = parquet.pyarrow()
    decided_arrow = results_arrow.append(pa.field(FILE, pa.int32())).append(pa.field(POS, pa.int64()))
    decided_arrow = decided_arrow.append(pa.field(COUNTS, pa.binary()))
    decided_schema = from_arrow_schema(decided_arrow)

    try:
        if fmt == "parquet":
            decided, rows_in, blank_lines = _decide_parquet(spark, options, types, base, decided_schema, F)
        else:
            decided, rows_in, blank_lines = _decide_text(spark, options, fmt, types, base, decided_schema, F)
    except AnalysisException as exc:
        raise RetroError(f"cannot read {options.claims}: {_first_line(exc)}") from None
    decided = decided.persist()
    try:
        out = options.out_dir.rstrip("/")
        name = f"results.{options.output_format}"
        partial = f"{out}/{name}.partial"
        final = f"{out}/{name}"
        _ensure_dir(spark, out)
        results = decided.orderBy(FILE, POS).drop(FILE, POS, COUNTS)
        writer = results.write.mode("overwrite")
        if options.output_format == "csv":
            writer.options(header=True, quote='"', escape='"', emptyValue="", nullValue="").csv(partial)
            rows_out = spark.read.options(header=True, multiLine=True, escape='"').csv(partial).count()
        else:
            writer.parquet(partial)
            rows_out = spark.read.parquet(partial).count()
        chunks = decided.where(F.col(COUNTS).isNotNull()).select(FILE, POS, COUNTS).collect()
    finally:
        decided.unpersist()
    tally, duplicates, problem = _merge(chunks)
    if problem:
        raise RetroError(f"internal error: {problem}; the results were left as {name}.partial")
    results_path = partial
    if rows_in == rows_out == tally.rows:
        _replace(spark, partial, final)
        results_path = final
    elapsed = time.monotonic() - started
    finished = now()
    summary = build_summary(
        tally,
        rows_in=rows_in,
        rows_out=rows_out,
        blank_lines=blank_lines,
        input_path=options.claims,
        input_format=fmt,
        results_name=results_path.rsplit("/", 1)[-1],
        output_format=options.output_format,
        compare_to=compare_to,
        run={
            "mode": f"spark {spark.sparkContext.master}",
            "workers": spark.sparkContext.defaultParallelism,
            "seconds": round(elapsed, 3),
            "spark_startup_seconds": round(startup, 3),
            "finished": finished,
        },
        duplicates=duplicates.summary(),
        provenance=_provenance(options, store, tally, compare_to, fmt, rows_in, started_at, finished),
    )
    summary_path = f"{out}/summary.json"
    report_path = f"{out}/report.html"
    _write_text(spark, summary_path, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    _write_text(spark, report_path, render_report(summary))
    _private_tree(out)
    return SparkRun(rows_in, rows_out, tally.rows, results_path, summary_path, report_path, summary, startup)


def _provenance(
    options: SparkOptions,
    store: VersionStore,
    tally: Tally,
    compare_to: str | None,
    fmt: str,
    rows: int,
    started: str,
    finished: str,
) -> dict[str, Any]:
    """What produced the outputs, as an in-process run records it. The input's sha256 is
    computed for a local file only: a lake path may be many files far away, and Spark's
    own row count stands for it."""
    versions = store.versions(options.policy_id)
    used = {v for (v, _d) in tally.by_version if v} | ({compare_to} if compare_to else set())
    local = Path(options.claims)
    digest: str | None = None
    if local.is_file():
        h = hashlib.sha256()
        with local.open("rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
        digest = "sha256:" + h.hexdigest()
    settings = {
        "engine": "spark",
        "input_format": fmt,
        "output_format": options.output_format,
        "policies": options.policies,
        "policy_id": options.policy_id,
        "as_known_on": None if options.as_known_on is None else options.as_known_on.isoformat(),
        "compare_to": compare_to,
        "spark_master": options.master,
        "ignore_unknown_columns": options.ignore_unknown_columns,
    }
    rerun = rerun_command(
        options.claims,
        Path(options.out_dir),
        {
            "input_format": options.input_format,
            "output_format": options.output_format,
            "policies": options.policies,
            "policy_id": options.policy_id,
            "as_known_on": settings["as_known_on"],
            "compare_to": compare_to,
            "ignore_unknown_columns": options.ignore_unknown_columns,
        },
    )
    return {
        "rxpolicy": rxpolicy_version(),
        "policy_set_digest": store.policy_set_digest,
        "policy_id": versions[0].policy_id if versions else options.policy_id,
        "versions": [version_entry(v) | {"used": v.version in used} for v in versions],
        "input": {"name": options.claims, "sha256": digest, "rows": rows, "format": fmt},
        "options": settings,
        "started": started,
        "finished": finished,
        "rerun": rerun + f" --engine spark --spark-master {options.master or 'local[*]'}",
    }


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _decide_parquet(
    spark: Any, options: SparkOptions, types: Mapping[str, Any], base: WorkerConfig, schema: Any, F: Any
) -> tuple[Any, int, int]:
    claims = spark.read.parquet(options.claims)
    try:
        columns = parquet.fact_columns(claims.columns, types, ignore_unknown=options.ignore_unknown_columns)
    except HeaderError as exc:
        raise RetroError(f"{options.claims}: {exc}") from None
    _say_ignored([c for c in claims.columns if c not in columns])
    claims = claims.select(
        *columns, F.col("_metadata.file_path").alias(FILE), F.col("_metadata.row_index").alias(POS)
    )
    counts = sorted((r[FILE], r["count"]) for r in claims.groupBy(FILE).count().collect())
    files: dict[str, tuple[int, int]] = {}
    before = 0
    for index, (path, count) in enumerate(counts):
        files[path] = (index, before)
        before += count
    job = functools.partial(
        decide_parquet_batches, config=base, output=options.output_format, columns=columns, files=files
    )
    return _spread(spark, claims, options, before).mapInArrow(job, schema), before, 0


# Claims per deciding task at most, when Spark's own split gives too few tasks.
TASK_CLAIMS = 100_000


def _spread(spark: Any, claims: Any, options: SparkOptions, rows: int) -> Any:
    """Spark splits Parquet by bytes (128 MB a task), and claims compress well: a million
    of them can be one task on one core. Fewer input partitions than cores (or than one per
    TASK_CLAIMS claims) are spread by range of input order, which keeps each task's rows
    in order; the deciding is the cost, the shuffle is small beside it."""
    wanted = options.partitions or max(spark.sparkContext.defaultParallelism, -(-rows // TASK_CLAIMS))
    if claims.rdd.getNumPartitions() >= wanted:
        return claims
    return claims.repartitionByRange(wanted, FILE, POS).sortWithinPartitions(FILE, POS)


def _decide_text(
    spark: Any,
    options: SparkOptions,
    fmt: InputFormat,
    types: Mapping[str, Any],
    base: WorkerConfig,
    schema: Any,
    F: Any,
) -> tuple[Any, int, int]:
    from pyspark.sql.types import BinaryType, IntegerType, LongType, StringType, StructField, StructType

    source = spark.read.format("binaryFile").load(options.claims)
    paths = sorted(r.path for r in source.select("path").collect())
    if not paths:
        raise RetroError(f"{options.claims}: no files to read")
    files = {p: i for i, p in enumerate(paths)}
    split_schema = StructType(
        [
            StructField(FILE, IntegerType()),
            StructField(POS, LongType()),
            StructField("record", BinaryType()),
            StructField("kind", StringType()),
        ]
    )
    whole = source.select("path", "content")
    header: tuple[str, ...] | None = None
    width: int | None = None
    if fmt == "csv":
        header = _check_headers(options, types, whole, files, split_schema, F)
        width = len(header)
    config = attrs.evolve(base, input_format=fmt, csv_header=header)
    split = functools.partial(split_text_files, fmt=fmt, files=files, csv_width=width)
    records = whole.mapInArrow(split, split_schema).persist()
    try:
        rows_in = records.where(F.col("kind") == RECORD).count()
        blank_lines = records.where(F.col("kind") == BLANKS).agg(F.sum(POS)).first()[0] or 0
        partitions = options.partitions or max(
            spark.sparkContext.defaultParallelism, -(-rows_in // TASK_CLAIMS)
        )
        to_decide = (
            records.where(F.col("kind") == RECORD)
            .select(FILE, POS, "record")
            .repartitionByRange(max(1, partitions), FILE, POS)
            .sortWithinPartitions(FILE, POS)
        )
        job = functools.partial(decide_text_batches, config=config, output=options.output_format)
        decided = to_decide.mapInArrow(job, schema)
        # The records stay cached until the decided rows are: materialise them first.
        decided = decided.persist()
        decided.count()
    finally:
        records.unpersist()
    return decided, rows_in, int(blank_lines)


def _check_headers(
    options: SparkOptions, types: Mapping[str, Any], whole: Any, files: Mapping[str, int], schema: Any, F: Any
) -> tuple[str, ...]:
    """Every CSV file's header, checked on the driver before any claim is decided: the
    in-process rules, and the same header in every file."""
    import csv

    split = functools.partial(split_text_files, fmt="csv", files=files, csv_width=None)
    headers = sorted(
        (r[FILE], r["record"])
        for r in whole.mapInArrow(split, schema).where(F.col("kind") == HEADER).collect()
    )
    by_file = dict(headers)
    empty = [p for p, i in files.items() if i not in by_file]
    if empty:
        raise RetroError(f"{empty[0]} is empty: a CSV claim file starts with a header row")
    found: tuple[str, ...] | None = None
    for index, raw in headers:
        try:
            header = tuple(next(csv.reader([raw.decode("utf-8-sig")], strict=True)))
            lay = layout(header, types, ignore_unknown=options.ignore_unknown_columns)
        except HeaderError as exc:
            raise RetroError(f"{_name(files, index)}: {exc}") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise RetroError(f"{_name(files, index)}: the header row cannot be read ({exc})") from None
        if found is None:
            found = lay.header
            _say_ignored([n for n in lay.header if n != CLAIM_ID and n not in {c.name for c in lay.columns}])
        elif lay.header != found:
            raise RetroError(f"{_name(files, index)}: its header differs from the first file's")
    assert found is not None
    return found


def _name(files: Mapping[str, int], index: int) -> str:
    return next(p for p, i in files.items() if i == index)


def _say_ignored(names: Sequence[str]) -> None:
    if names:
        # Column names only: they are the file's structure, not member data.
        print(f"rxpolicy retro: ignoring column(s) {', '.join(names)}", file=sys.stderr)


def _merge(chunks: Sequence[Any]) -> tuple[Tally, Duplicates, str]:
    """The chunks' counts and claim ids merged in input order; a problem found ('' when none)."""
    tally = Tally()
    duplicates = Duplicates()
    seen: set[tuple[int, int]] = set()
    for row in sorted(chunks, key=lambda r: (r[FILE], r[POS])):
        key = (row[FILE], row[POS])
        if key in seen:
            return tally, duplicates, f"a chunk at file {key[0]} position {key[1]} came back more than once"
        seen.add(key)
        records, result = pickle.loads(row[COUNTS])
        if not records == result.rows == result.tally.rows:
            return (
                tally,
                duplicates,
                f"a chunk of {records} records came back with {result.rows} rows "
                f"({result.tally.rows} counted)",
            )
        tally.merge(result.tally)
        duplicates.add(result.claim_ids)
    return tally, duplicates, ""


def _hadoop_fs(spark: Any, path: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hpath


def _ensure_dir(spark: Any, path: str) -> None:
    fs, hpath = _hadoop_fs(spark, path)
    fs.mkdirs(hpath)


def _replace(spark: Any, partial: str, final: str) -> None:
    fs, source = _hadoop_fs(spark, partial)
    _, target = _hadoop_fs(spark, final)
    if fs.exists(target):
        fs.delete(target, True)
    if not fs.rename(source, target):
        raise RetroError(f"cannot rename {partial} to {final}")


def _local(path: str) -> Path | None:
    """The local path of ``path`` (no scheme, or file://), else None."""
    if "://" in path and not path.startswith("file://"):
        return None
    return Path(path.removeprefix("file://"))


def _write_text(spark: Any, path: str, text: str) -> None:
    """A small file at any path Spark can write (the summary, the report); on a local disk
    written directly, readable by its owner only, with no Hadoop checksum file beside it."""
    local = _local(path)
    if local is not None:
        fd = os.open(local, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return
    fs, hpath = _hadoop_fs(spark, path)
    stream = fs.create(hpath, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def _private_tree(out: str) -> None:
    """On a local disk, the outputs readable by their owner only (they hold member data),
    whatever the file system's umask gave them."""
    root = _local(out)
    if root is None or not root.is_dir():
        return
    root.chmod(0o700)
    for path in root.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)


# ------------------------------------------------------------------ command line


def parse_conf(items: Iterable[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise RetroError(f"--spark-conf {item!r} must be KEY=VALUE")
        pairs.append((key.strip(), value))
    return tuple(pairs)


def options_from_args(args: argparse.Namespace, master: str | None) -> SparkOptions:
    if getattr(args, "server", None):
        raise RetroError("--server cannot be used with --engine spark: Spark's workers decide in process")
    fmt: SparkResultsFormat
    if args.format in (None, "parquet"):
        fmt = "parquet"
    elif args.format == "csv":
        fmt = "csv"
    else:
        raise RetroError("--engine spark writes results as parquet or csv (--format)")
    return SparkOptions(
        claims=args.claims,
        out_dir=str(args.out),
        input_format=args.input_format,
        output_format=fmt,
        master=master,
        conf=parse_conf(args.spark_conf),
        partitions=getattr(args, "partitions", None),
        policies=None if args.policies is None else str(args.policies),
        policy_id=args.policy,
        as_known_on=args.as_known_on,
        compare_to=args.compare_to,
        ignore_unknown_columns=args.ignore_unknown_columns,
    )


def report_run(run: SparkRun) -> int:
    """Print the run's line (as the in-process run does); the exit status."""
    d = run.summary["decisions"]
    counts = ", ".join(f"{k} {v:,}" for k, v in d.items())
    check = "rows in = rows out" if run.rows_match else "ROW COUNT MISMATCH"
    print(
        f"rxpolicy retro: {run.rows_in:,} claims in, {run.rows_out:,} rows out ({check}, counted by Spark); "
        f"{counts}; {run.summary['run']['seconds']:.1f} s (Spark start-up {run.startup_seconds:.1f} s)",
        file=sys.stderr,
    )
    print(f"  {run.results}\n  {run.summary_path}\n  {run.report}", file=sys.stderr)
    if not run.rows_match:
        print(
            f"rxpolicy: row check failed: {run.rows_in:,} claims read, {run.rows_out:,} rows in the results, "
            f"{run.rows_counted:,} rows in the summary; the results were left as {run.results}",
            file=sys.stderr,
        )
        return 3
    return 0


def run_cli(args: argparse.Namespace, master: str | None) -> int:
    """``rxpolicy retro --engine spark`` and ``spark-submit``: run, print, exit status."""
    try:
        return report_run(run_spark(options_from_args(args, master)))
    except (RetroError, parquet.ParquetUnavailable) as exc:
        print(f"rxpolicy: {exc}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="spark-submit [spark options] rxretro.py",
        description="Retro-review on Spark, for spark-submit: the master and the settings come from "
        "spark-submit (--master, --conf). Same output as rxpolicy retro --engine spark.",
    )
    p.add_argument("claims", metavar="CLAIMS", help="claims: a file, directory or glob Spark can read")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output directory Spark can write")
    p.add_argument(
        "--format", choices=("parquet", "csv"), default="parquet", help="results (default: parquet)"
    )
    p.add_argument("--input-format", choices=("csv", "jsonl", "parquet"), help="default: from the name")
    p.add_argument("--compare-to", metavar="VERSION", help="also decide every claim under this version")
    p.add_argument(
        "--partitions",
        type=int,
        metavar="N",
        help="deciding tasks (default: Spark's default parallelism, at least one per 100,000 claims)",
    )
    p.add_argument("--ignore-unknown-columns", action="store_true", help="skip columns that are not facts")
    p.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting")
    # As rxpolicy's --policies, --policy and --as-known-on (retro/ does not import the CLI).
    p.add_argument("--policies", metavar="DIR", help="policy versions directory every executor can read")
    p.add_argument("--policy", metavar="ID", help="policy id (default: the only one loaded)")
    p.add_argument(
        "--as-known-on",
        type=dt.date.fromisoformat,
        metavar="DATE",
        help="ignore versions recorded after DATE (what was known then)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_cli(args, master=None)


if __name__ == "__main__":
    sys.exit(main())
