"""Checks benchmark: native engines against Evidently and Great Expectations, same data, same run.

Drift: native vs Evidently `DataDriftPreset` on ROWS x COLS numeric columns (reference and
current of ROWS rows each, half the columns shifted). Expectations: native vs GE with 12 common
expectations. Each engine runs in its own subprocess, so its time and its peak memory (peak
RSS above the RSS once the data is built) are its own; scores and counts are compared to show
the engines agree. Also the import time of `argoscope.checks` and of the reference engines.
Prints a Markdown section and writes it to `--out`; `bench/run_all.py` joins the sections
into `docs/benchmarks.md`.

    python bench/bench_checks.py --rows 1000000     # the issue's size (Evidently takes minutes)
    python bench/bench_checks.py --rows 100000      # a quick run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "GX_ANALYTICS_ENABLED": "False"}


def make_frames(rows: int, cols: int):  # pragma: no cover - runs in the child
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(42)
    reference = pd.DataFrame({f"c{i}": rng.normal(0, 1, rows) for i in range(cols)})
    current = pd.DataFrame({f"c{i}": rng.normal(0.2 if i % 2 else 0.0, 1, rows)
                            for i in range(cols)})
    current.iloc[: rows // 100, 0] = np.nan
    return reference, current


def suite(cols: int) -> list[dict]:
    """12 common expectations over the columns."""
    names = [f"c{i}" for i in range(cols)]
    out: list[dict] = []
    for name in names[:4]:
        out.append({"type": "expect_column_values_to_not_be_null",
                    "kwargs": {"column": name, "mostly": 0.995}})
        out.append({"type": "expect_column_values_to_be_between",
                    "kwargs": {"column": name, "min_value": -3, "max_value": 3, "mostly": 0.99}})
    out.append({"type": "expect_column_mean_to_be_between",
                "kwargs": {"column": names[4], "min_value": -0.1, "max_value": 0.1}})
    out.append({"type": "expect_column_median_to_be_between",
                "kwargs": {"column": names[5], "min_value": -0.1, "max_value": 0.1}})
    out.append({"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}})
    out.append({"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": names}})
    return out


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak() -> int:
    """Reset the peak RSS (VmHWM) to the current RSS, so building the data does not count;
    returns the current RSS in KiB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS")


def child(engine: str, rows: int, cols: int) -> dict:  # pragma: no cover - runs in the child
    reference, current = make_frames(rows, cols)
    # Imports stay outside the timing for every engine: they are reported separately.
    import argoscope.checks.drift_native
    import argoscope.checks.expect  # noqa: F401
    if engine == "evidently":
        import evidently  # noqa: F401
    if engine == "ge":
        import great_expectations  # noqa: F401
    import gc

    gc.collect()
    baseline = _reset_peak()
    start = time.perf_counter()
    if engine == "native-drift":
        from argoscope.checks.drift_native import dataset_drift
        found = [f.to_dict() for f in dataset_drift(reference, current)]
    elif engine == "evidently":
        from argoscope.checks.drift_evidently import run
        found = [f.to_dict() for f in run(reference, current)]
    else:
        from argoscope.checks.expect import validate
        found = [r.to_dict() for r in validate(current, suite(cols),
                                               "native" if engine == "native-expect" else "ge")]
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    return {"seconds": seconds, "peak_mib": max(0, peak - baseline) / 1024, "found": found}


def measure(engine: str, rows: int, cols: int) -> dict:
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT / 'bench')!r}); "
            f"import bench_checks as b; print(json.dumps(b.child({engine!r}, {rows}, {cols})))")
    proc = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True,
                          check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def import_seconds(module: str, repeats: int = 3) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    times = [float(subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True,
                                  text=True, check=True).stdout) for _ in range(repeats)]
    return min(times)


def max_relative(a: list[float | None], b: list[float | None]) -> float:
    worst = 0.0
    for x, y in zip(a, b, strict=True):
        if x is None or y is None:
            if x is not y:
                return math.inf
            continue
        worst = max(worst, abs(x - y) / max(abs(y), 1e-300) if y else abs(x))
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--out", help="also write the Markdown section to this file")
    args = parser.parse_args()
    rows, cols = args.rows, args.cols

    native_drift = measure("native-drift", rows, cols)
    evidently = measure("evidently", rows, cols)
    native_expect = measure("native-expect", rows, cols)
    ge = measure("ge", rows, cols)

    drift_diff = max_relative([f["score"] for f in native_drift["found"]],
                              [f["score"] for f in evidently["found"]])
    same_verdicts = ([f["drifted"] for f in native_drift["found"]]
                     == [f["drifted"] for f in evidently["found"]])
    same_methods = ([f["method"] for f in native_drift["found"]]
                    == [f["method"] for f in evidently["found"]])
    same_counts = all(
        ours["status"] == theirs["status"]
        and (ours.get("details") or {}).keys() == (theirs.get("details") or {}).keys()
        and max_relative(list((ours.get("details") or {}).values()),
                         list((theirs.get("details") or {}).values())) <= 1e-9
        for ours, theirs in zip(native_expect["found"], ge["found"], strict=True))
    imports = {m: import_seconds(m) for m in ("argoscope.checks", "great_expectations",
                                              "evidently")}

    def row(name: str, m: dict, base: dict | None) -> str:
        ratio = f"{base['seconds'] / m['seconds']:.1f}x faster" if base else "baseline"
        return f"| {name} | {m['seconds']:.2f} | {m['peak_mib']:.0f} | {ratio} |"

    lines = [
        "## Checks: native engines vs Evidently and Great Expectations",
        "",
        f"{rows:,} rows x {cols} numeric columns (reference and current each), one run, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs. Peak memory is the "
        "engine's peak RSS above the RSS with the data loaded.",
        "",
        "| engine | seconds | peak MiB | vs reference |",
        "|---|---:|---:|---|",
        row("Evidently `DataDriftPreset`", evidently, None),
        row("native drift", native_drift, evidently),
        row("Great Expectations (12 expectations)", ge, None),
        row("native expectations", native_expect, ge),
        "",
        f"- Drift agreement: largest relative score difference {drift_diff:.1e}; "
        f"same methods: {same_methods}; same verdicts: {same_verdicts} "
        f"({sum(f['drifted'] for f in native_drift['found'])} of {cols} drifted).",
        f"- Expectation agreement: same statuses and counts (percentages within 1e-9): "
        f"{same_counts}.",
        f"- Import time: `argoscope.checks` {imports['argoscope.checks']:.3f} s, "
        f"`great_expectations` {imports['great_expectations']:.1f} s, "
        f"`evidently` {imports['evidently']:.1f} s (best of 3, fresh interpreters).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
    return 0 if same_verdicts and same_methods and same_counts and drift_diff <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
