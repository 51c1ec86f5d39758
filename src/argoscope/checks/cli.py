"""`argoscope check expect|drift`: run checks on CSV or Parquet files.

Exit codes: 0 all critical checks passed, 1 a critical check failed, 2 bad input (a missing
or unreadable file, an unknown column, empty data, an unknown expectation or argument, an
optional dependency that is not installed). `--out -` writes the document to stdout and the
table to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argoscope.checks._engine import DRIFT_ENGINES, EXPECTATION_ENGINES
from argoscope.checks.scale import cli as scale_cli
from argoscope.checks.scale.route import ENGINES as SCALE_ENGINES
from argoscope.cli_errors import report

if TYPE_CHECKING:
    import pandas as pd

    from argoscope.checks.results import CheckResult, FeatureResult


def register(subparsers: Any) -> None:
    """Add `check` with its `expect` and `drift` subcommands."""
    parser = subparsers.add_parser("check", help="run data checks on CSV or Parquet files",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="check_command", metavar="CHECK", required=True)

    expect = commands.add_parser("expect", help="validate a file against an expectation suite")
    expect.add_argument("--suite", required=True, help="Great Expectations suite JSON")
    expect.add_argument("data", help="CSV or Parquet file")
    expect.add_argument("--engine", choices=EXPECTATION_ENGINES, default="auto",
                        help="native, Great Expectations, or native when it can (default); "
                             "spark or dask read PATH (a Parquet file or directory) at scale")
    expect.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="a value for GE's {\"$PARAMETER\": ...} expressions (repeatable; "
                             "VALUE is read as JSON when it parses, else as text)")
    expect.add_argument("--trust-suite", action="store_true",
                        help="let Great Expectations evaluate row_conditions outside the "
                             "comparison grammar (calls, @-references): they run as code, so "
                             "only for a suite you trust as code")
    expect.add_argument("--out", help="write the argoscope-checks document here ('-': stdout)")
    scale_cli.add_arguments(expect)
    expect.set_defaults(handler=run_expect)

    drift = commands.add_parser("drift", help="compare a current file with a reference")
    drift.add_argument("--reference", required=True, help="reference CSV or Parquet file")
    drift.add_argument("--current", required=True, help="current CSV or Parquet file")
    drift.add_argument("--engine", choices=DRIFT_ENGINES, default="native",
                       help="native (default; Evidently's text tests still run through "
                            "Evidently) or evidently, the reference engine; spark or dask "
                            "read the Parquet files or directories at scale")
    drift.add_argument("--columns", help="comma-separated columns (default: every column whose "
                       "type Evidently tests)")
    drift.add_argument("--method", help="test for every column (default: Evidently's choice)")
    drift.add_argument("--column-types", metavar="NAME=TYPE,...",
                       help="declare column types (numerical, categorical, text); the rest "
                            "are inferred as Evidently does")
    drift.add_argument("--threshold", type=float, help="threshold for every column")
    drift.add_argument("--drift-share", type=float, default=0.5,
                       help="share of drifted columns that fails the check (default 0.5)")
    drift.add_argument("--name", default="drift", help="check name (default: drift)")
    drift.add_argument("--report", help="with --engine evidently: keep its JSON report here")
    drift.add_argument("--out", help="write the argoscope-checks document here ('-': stdout)")
    scale_cli.add_arguments(drift)
    drift.set_defaults(handler=run_drift)


def read_table(path_text: str) -> pd.DataFrame:
    """Read a CSV or Parquet file; CheckInputError names the file when it cannot be used."""
    import pandas as pd

    from argoscope.checks.results import CheckInputError

    path = Path(path_text)
    if not path.is_file():
        raise CheckInputError(f"{path}: file not found")
    parquet = path.suffix.lower() in (".parquet", ".pq")
    try:
        # Without Arrow's thread pool: pandas hands Arrow a file object, and the pool's
        # teardown at exit can then abort the process after its answer (apache/arrow#34314,
        # #50482), turning a correct exit 2 into a crash.
        frame = pd.read_parquet(path, use_threads=False) if parquet else pd.read_csv(path)
    except ImportError:
        raise CheckInputError(f"{path}: reading Parquet needs pyarrow, which is not installed: "
                              "pip install 'argoscope[parquet]'") from None
    except Exception as exc:  # any reader failure is bad input
        kind = "Parquet" if parquet else "CSV"
        raise CheckInputError(f"{path}: cannot read as {kind} ({exc})") from None
    if frame.empty:
        raise CheckInputError(f"{path}: no rows")
    return frame


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def unit(result: CheckResult) -> str:
    """What a result's VALUE and THRESHOLD measure, so percentages and ratios are not mixed up."""
    if result.kind == "drift":
        return "share drifted"  # a ratio in [0, 1]
    if result.kind == "expectation" and "unexpected_percent" in result.details:
        return "% unexpected"  # 0-100, against 100 * (1 - mostly)
    if result.kind == "expectation" and result.value is None and result.threshold is None:
        return "-"
    return "observed" if result.kind == "expectation" else "metric"


def render(results: list[CheckResult]) -> str:
    """A plain-text table: one row per check, then one per drift feature."""
    from argoscope.checks.drift_stattests import score_unit

    rows = [("CHECK", "KIND", "STATUS", "SEVERITY", "VALUE", "THRESHOLD", "UNIT", "MESSAGE")]
    for r in results:
        rows.append((r.check, r.kind, r.status.upper(), r.severity, _cell(r.value),
                     _cell(r.threshold), unit(r), r.message))
        for f in r.features:
            rows.append((f"  {f.feature}", f.method, "DRIFT" if f.drifted else "ok", "",
                         _cell(f.score), _cell(f.threshold), score_unit(f.method), ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
             + "  " + row[-1] for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _finish(results: list[CheckResult], out: str | None, command: str) -> int:
    from argoscope.checks.emit import document_text, write_document

    if out == "-":  # stdout carries the document alone, so it can be piped
        print(render(results), file=sys.stderr)
        print(document_text(results))
    else:
        print(render(results))
    if out and out != "-" and not write_document(results, Path(out)):
        return report(command, f"--out {out}: could not write the document")
    return 1 if any(result.blocking for result in results) else 0


def run_expect(args: argparse.Namespace) -> int:
    """Handler of `argoscope check expect`."""
    from argoscope.checks.expect import validate
    from argoscope.checks.results import CheckInputError

    if args.engine in SCALE_ENGINES:  # Parquet read and checked by Spark or Dask
        return scale_cli.run_expect(args, _finish, _parameters)
    try:
        frame = read_table(args.data)
        results = validate(frame, args.suite, args.engine, trust_suite=args.trust_suite,
                           parameters=_parameters(args.parameter))
    except CheckInputError as exc:
        return report("argoscope check expect", exc)
    return _finish(results, args.out, "argoscope check expect")


def _parameters(entries: list[str]) -> dict[str, Any]:
    """`--parameter NAME=VALUE` values: JSON when VALUE parses as JSON, else the text."""
    import json

    from argoscope.checks.results import CheckInputError

    given: dict[str, Any] = {}
    for entry in entries:
        name, sep, text = entry.partition("=")
        if not sep or not name.strip():
            raise CheckInputError(f"--parameter: {entry!r} is not NAME=VALUE")
        try:
            given[name.strip()] = json.loads(text)
        except ValueError:
            given[name.strip()] = text
    return given


def _column_types(text: str | None) -> dict[str, str] | None:
    """`a=numerical,b=categorical` as a mapping; a malformed entry is an input error."""
    from argoscope.checks.results import CheckInputError

    if not text:
        return None
    declared: dict[str, str] = {}
    for entry in text.split(","):
        name, sep, kind = entry.partition("=")
        if not sep or not name.strip() or not kind.strip():
            raise CheckInputError(f"--column-types: {entry!r} is not NAME=TYPE")
        declared[name.strip()] = kind.strip()
    return declared


def run_drift(args: argparse.Namespace) -> int:
    """Handler of `argoscope check drift`."""
    from argoscope.checks import arguments
    from argoscope.checks._engine import DriftOptions, drift_engine
    from argoscope.checks.api import drift_result
    from argoscope.checks.process_tuning import tune_for_drift
    from argoscope.checks.results import CheckInputError

    if args.engine in SCALE_ENGINES:  # Parquet read and checked by Spark or Dask
        return scale_cli.run_drift(args, _finish, _column_types)
    tune_for_drift()  # cheaper, same results: see process_tuning
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    try:
        column_types = _column_types(args.column_types)
        features = _fast_drift(args, columns, column_types)
        if features is None:  # the pandas path: every other call, and every error's words
            reference = read_table(args.reference)
            current = read_table(args.current)
            arguments.drift_call(reference, current, engine=args.engine, engines=DRIFT_ENGINES,
                                 columns=columns, method=args.method, threshold_=args.threshold,
                                 per_column_method=None, per_column_threshold=None,
                                 drift_share_=args.drift_share, column_types=column_types)
            options = DriftOptions(columns, args.method, args.threshold,
                                   drift_share=args.drift_share, column_types=column_types,
                                   report_path=args.report)
            features = drift_engine(args.engine).run(reference, current, options)
    except CheckInputError as exc:
        return report("argoscope check drift", exc)
    return _finish([drift_result(args.name, features, args.drift_share, "critical")], args.out,
                   "argoscope check drift")


def _fast_drift(args: argparse.Namespace, columns: list[str] | None,
                column_types: dict[str, str] | None) -> list[FeatureResult] | None:
    """The native engine's features from the fast path (`drift_arrow`: Parquet straight from
    Arrow, without pandas), or None when that path declines the call."""
    if args.engine != "native" or column_types is not None:
        return None
    from argoscope.checks.drift_arrow import drift_parquet

    return drift_parquet(args.reference, args.current, columns, method=args.method,
                         threshold=args.threshold, drift_share=args.drift_share)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - `argoscope check` is the entry
    """Run `check` on its own (python -m argoscope.checks.cli)."""
    parser = argparse.ArgumentParser(prog="argoscope")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
