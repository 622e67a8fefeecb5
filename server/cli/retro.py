"""rxpolicy retro / rxpolicy retro-generate: re-review historical claims; make test claims."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .common import add_as_known_on, add_store_options, fail

RETRO_EPILOG = """\
claim files:
  CSV with a header row; one claim per row. Columns: claim_id (required) and any of the
  request facts, named as in the policy (service_date, line_of_business, request_type,
  member_age, diagnosis, ...). An empty cell is an unknown fact. Encodings:
    dates             YYYY-MM-DD
    true/false        true/false, yes/no, y/n, 1/0 (any case)
    combination       agents separated by ';' or '+'      bortezomib;dexamethasone
    prior_therapies   lines separated by '|', agents in a line by '+' or ';'
                                                         bortezomib+lenalidomide|carfilzomib
    doses             dosing days separated by ';', each TABLETSxSTRENGTH_MG   4x20;4x20
    'none'            an empty list (no prior therapies; no partner drug)
  JSON lines: one object per line, the case-file request shape plus claim_id
    {"claim_id": "C1", "service_date": "2021-03-01", "combination": ["bortezomib", ...], ...}
  or {"claim_id": "C1", "request": {...}}. Blank lines are skipped. '.gz' files are read
  compressed; '-' reads standard input.
  Parquet (.parquet; needs pyarrow): claim_id and fact columns, typed (lists as lists,
  prior_therapies a list of lists, doses a list of {tablets, strength_mg}); null = unknown.

engines:
  local (default)  this machine's cores (--workers), or a server (--server)
  spark            Apache Spark (needs pyspark): --spark-master (default local[*]),
                   --spark-conf KEY=VALUE; CLAIMS and DIR may be any path Spark can read
                   and write; results are Parquet (or --format csv). The same job runs
                   under spark-submit (see the README); its options:
                   python -m rxpolicy.server.retro.spark_job --help

output (in DIR):
  results.csv | .jsonl | .parquet   one row per claim, in input order (see docs/retro.md)
  summary.json                  counts: decisions, by version and month, unmet criteria,
                                missing facts, errors, rows in/out (and --compare-to changes)
  report.html                   the same as a self-contained page with charts

  (a run that stops early leaves results.*.partial and resume.json instead, no summary)

--out: must be new, empty, or hold only this tool's earlier outputs, with --overwrite
(to replace them) or --resume (to continue an interrupted run). Output files are
readable by their owner only. summary.json and report.html hold counts only (no claim
ids, no cell values) unless --examples N.

exit status: 0 done (invalid rows are error rows and do not change it); 1 the run could
not start or stopped (the server gone or silent, a full disk: what was written stays
in results.*.partial, --resume continues); 3 the end-of-run check failed: the claims
read, the rows in the results file (read back) and the rows in the summary are not the
same number; 4 done, but some rows met an internal error (a bug, not bad input: they
are error rows saying so); 130 / 143 stopped by SIGINT / SIGTERM (partial, resumable).
"""

EXIT_ROW_CHECK = 3
EXIT_INTERNAL_ERRORS = 4


def register(sub: Any) -> None:
    p = sub.add_parser(
        "retro",
        help="re-review historical claims under the versions in force on their service dates",
        description="Decide every claim in CLAIMS (CSV, JSON lines or Parquet) under the policy version in "
        "force on its service date, optionally also under another version (--compare-to), and "
        "write per-claim results, summary.json and report.html to DIR. Bad rows become error "
        "rows naming the field; they never stop the run.",
        epilog=RETRO_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "claims",
        metavar="CLAIMS",
        help="claim file (.csv, .jsonl, optionally .gz; .parquet), or - for stdin",
    )
    p.add_argument("--out", "-o", required=True, type=Path, metavar="DIR", help="output directory")
    p.add_argument(
        "--format",
        choices=("csv", "jsonl", "parquet"),
        help="format of the per-claim results (default: csv; parquet with --engine spark)",
    )
    p.add_argument(
        "--input-format",
        choices=("csv", "jsonl", "parquet"),
        help="format of CLAIMS (default: from the file name, else from its first bytes)",
    )
    p.add_argument(
        "--compare-to",
        metavar="VERSION",
        help="also decide every claim under this version (semver, a date, or 'latest'); report changes",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes (default: every core; 1 decides in this process)",
    )
    p.add_argument(
        "--chunk-size", type=int, default=2000, metavar="ROWS", help="claims per unit of work (default: 2000)"
    )
    p.add_argument("--server", metavar="HOST:PORT", help="decide through a running rxpolicy server's stream")
    p.add_argument("--token", help="bearer token for --server")
    p.add_argument(
        "--server-timeout",
        type=float,
        metavar="SECONDS",
        help="with --server: stop the run when a chunk is not answered within SECONDS "
        "(default: 60, or 0.05 per claim in the chunk when that is more)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace this tool's earlier outputs in DIR (anything else in DIR refuses the run)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run in DIR from its partial results (same claims and options)",
    )
    p.add_argument(
        "--examples",
        type=int,
        default=0,
        metavar="N",
        help="show up to N example claims (ids, lines, service dates) per list in summary.json and "
        "report.html, which then hold member data (default: 0, counts only)",
    )
    p.add_argument(
        "--ignore-unknown-columns",
        action="store_true",
        help="skip CSV columns that are not facts (default: refuse the file, to catch misspelt facts)",
    )
    bar = p.add_mutually_exclusive_group()
    bar.add_argument(
        "--progress", dest="progress", action="store_true", default=None, help="always show a progress bar"
    )
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show a progress bar")
    p.add_argument(
        "--engine",
        choices=("local", "spark"),
        default="local",
        help="where claims are decided: this machine (default) or Apache Spark",
    )
    p.add_argument(
        "--spark-master", default="local[*]", metavar="URL", help="with --engine spark (default: local[*])"
    )
    p.add_argument(
        "--spark-conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="with --engine spark: a Spark setting (repeatable)",
    )
    add_store_options(p)
    add_as_known_on(p)
    p.set_defaults(func=run)

    g = sub.add_parser(
        "retro-generate",
        help="write seeded synthetic claims (CSV or JSON lines) for tests and benchmarks",
        description="Write COUNT synthetic CP.PHAR.431 claims spread over 2019-2026: every diagnosis, "
        "version and outcome, and a share of invalid rows. The same seed gives the same file.",
    )
    g.add_argument("--count", "-n", type=int, default=1000, help="number of claims (default: 1000)")
    g.add_argument("--seed", "-s", type=int, default=0, help="random seed (default: 0)")
    g.add_argument("--output", "-o", default="-", metavar="FILE", help="file to write (default: stdout)")
    g.add_argument(
        "--format", choices=("csv", "jsonl", "parquet"), help="(default: from FILE's name, else csv)"
    )
    g.add_argument(
        "--invalid-rate", type=float, default=0.02, metavar="P", help="share of invalid rows (default: 0.02)"
    )
    g.set_defaults(func=run_generate)


def run(args: argparse.Namespace) -> int:
    from ..retro.pipeline import RetroError, RetroInterrupted, RetroOptions, run_retro

    if args.workers is not None and args.workers < 1:
        fail("--workers must be at least 1")
        return 1
    if args.chunk_size < 1:
        fail("--chunk-size must be at least 1")
        return 1
    if args.examples < 0:
        fail("--examples must be 0 or more")
        return 1
    if args.overwrite and args.resume:
        fail("--overwrite and --resume cannot be combined: one replaces the earlier run, one continues it")
        return 1
    if args.server_timeout is not None and not 0 < args.server_timeout < float("inf"):
        fail("--server-timeout must be a number of seconds more than 0")
        return 1
    if args.engine == "spark":
        from ..retro.spark_job import run_cli

        return run_cli(args, master=args.spark_master)
    options = RetroOptions(
        claims=args.claims,
        out_dir=args.out,
        input_format=args.input_format,
        output_format=args.format or "csv",
        workers=args.workers,
        chunk_size=args.chunk_size,
        progress=args.progress,
        policies=args.policies,
        policy_id=args.policy,
        as_known_on=args.as_known_on,
        compare_to=args.compare_to,
        server=args.server,
        token=args.token,
        server_timeout=args.server_timeout,
        ignore_unknown_columns=args.ignore_unknown_columns,
        overwrite=args.overwrite,
        resume=args.resume,
        examples=args.examples,
    )
    try:
        result = run_retro(options)
    except RetroInterrupted as exc:
        fail(str(exc))
        return 128 + exc.signum
    except RetroError as exc:
        fail(str(exc))
        return 1
    d = result.summary["decisions"]
    counts = ", ".join(f"{k} {v:,}" for k, v in d.items())
    check = "rows in = rows out" if result.rows_match else "ROW COUNT MISMATCH"
    print(
        f"rxpolicy retro: {result.rows_in:,} claims in, {result.rows_out:,} rows out ({check}); {counts}; "
        f"{result.summary['run']['seconds']:.1f} s",
        file=sys.stderr,
    )
    print(f"  {result.results}\n  {result.summary_path}\n  {result.report}", file=sys.stderr)
    if not result.rows_match:
        fail(
            f"row check failed: {result.rows_in:,} claims read, {result.rows_out:,} rows in the results "
            f"file, {result.rows_counted:,} rows in the summary; the results were left as "
            f"{result.results.name}"
        )
        return EXIT_ROW_CHECK
    duplicates = result.summary["duplicates"]
    if duplicates["rows"]:
        lines = ", ".join(str(n) for n in duplicates["first_lines"][:10])
        print(
            f"rxpolicy retro: {duplicates['rows']:,} rows repeat a claim id seen on an earlier row "
            f"({duplicates['claim_ids']:,} ids; first at lines {lines})",
            file=sys.stderr,
        )
    if result.internal_errors:
        fail(
            f"{result.internal_errors:,} rows met an internal error (not invalid input: a bug to report); "
            "each is an error row saying so"
        )
        return EXIT_INTERNAL_ERRORS
    return 0


def run_generate(args: argparse.Namespace) -> int:
    from ..retro.synth import ClaimFormat, write_claims

    if args.count < 0 or not 0 <= args.invalid_rate <= 1:
        fail("--count must be >= 0 and --invalid-rate between 0 and 1")
        return 1
    name = args.output
    if args.format == "parquet" or (args.format is None and name.endswith((".parquet", ".pq"))):
        return _generate_parquet(args)
    fmt: ClaimFormat = args.format or ("jsonl" if name.endswith((".jsonl", ".ndjson", ".json")) else "csv")
    if name == "-":
        write_claims(sys.stdout, args.count, args.seed, fmt, args.invalid_rate)
        return 0
    with open(name, "w", encoding="utf-8", newline="") as out:
        write_claims(out, args.count, args.seed, fmt, args.invalid_rate)
    print(f"rxpolicy retro-generate: {args.count:,} claims (seed {args.seed}) -> {name}", file=sys.stderr)
    return 0


def _generate_parquet(args: argparse.Namespace) -> int:
    from ..retro import parquet

    if args.output == "-":
        fail("Parquet cannot be written to standard output: name the file with --output")
        return 1
    try:
        written = parquet.write_claims(args.output, args.count, args.seed, args.invalid_rate)
    except parquet.ParquetUnavailable as exc:
        fail(str(exc))
        return 1
    print(f"rxpolicy retro-generate: {written:,} claims (seed {args.seed}) -> {args.output}", file=sys.stderr)
    return 0
