"""Step report benchmark: what writing the HTML step report adds to a drift check.

Same data as the checks benchmark (ROWS x COLS numeric columns, reference and current, half
the columns shifted, 1 % missing in one column). The baseline is the native drift
computation (`checks.drift`, what the report illustrates), measured in the same process and
run; the report's cost is capturing the distributions (shared-bin histograms and summary
statistics) plus rendering and writing the page. Median of REPEATS runs each. Prints a
Markdown section and writes it to `--out`; `bench/run_all.py` joins the sections into
`docs/benchmarks.md`.

    python bench/bench_reports.py                  # 1,000,000 x 20, the issue's size
    python bench/bench_reports.py --rows 100000    # a quick run
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_checks import make_frames  # noqa: E402

from argoscope.checks.api import drift_result  # noqa: E402
from argoscope.checks.distributions import distributions  # noqa: E402
from argoscope.checks.drift_native import dataset_drift  # noqa: E402
from argoscope.reports.step import write_step_report  # noqa: E402

TARGET = 0.10


def median_seconds(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="also write the Markdown section to this file")
    args = parser.parse_args()
    reference, current = make_frames(args.rows, args.cols)
    columns = list(reference.columns)

    features = dataset_drift(reference, current, columns)
    result = drift_result("input_drift", features, 0.5, "critical")
    drift = median_seconds(lambda: dataset_drift(reference, current, columns), args.repeats)
    capture = median_seconds(lambda: distributions(reference, current, columns), args.repeats)
    captured = {"input_drift": distributions(reference, current, columns)}
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "report.html"
        write = median_seconds(lambda: write_step_report(page, [result], captured),
                               args.repeats)
        size = page.stat().st_size
    ratio = (capture + write) / drift
    lines = [
        "## Step reports (issue 13): cost against the drift check",
        "",
        f"`python bench/bench_reports.py --rows {args.rows} --cols {args.cols}`: "
        f"{args.rows:,} rows x {args.cols} numeric columns (reference and current each), "
        f"median of {args.repeats}, Python {platform.python_version()}, one process.",
        "",
        "| measure | seconds | vs drift |",
        "|---|---:|---:|",
        f"| native drift (baseline) | {drift:.3f} | 1.00 |",
        f"| capture distributions (shared bins, summaries) | {capture:.3f} | "
        f"{capture / drift:.3f} |",
        f"| render and write the page ({args.cols} charts, {size / 1024:.0f} KiB) | "
        f"{write:.3f} | {write / drift:.3f} |",
        f"| **step report in total** | **{capture + write:.3f}** | **{ratio:.1%}** |",
        "",
        f"Target: under {TARGET:.0%} of the drift computation. Bin heights above 100,000 rows "
        "come from an evenly spaced sample of 100,000 rows per sample (counts, missing values, "
        "mean, min and max use every row), which is what keeps the capture this cheap.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0 if ratio < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
