"""Checks benchmark: native engines against Evidently and Great Expectations, same data, same run.

Drift: native vs Evidently `DataDriftPreset` on ROWS x COLS numeric columns (reference and
current of ROWS rows each, half the columns shifted). Expectations: native vs GE with 12 common
expectations. Each engine runs in its own subprocess, so its time and its peak memory (peak
RSS above the RSS once the data is built) are its own; scores and counts are compared to show
the engines agree. Also the import time of `argoscope.checks` and of the reference engines.
Then the whole command as a user runs it, imports and Parquet reading included:
`argoscope check drift` against `--engine evidently` on COMMAND_ROWS x COLS Parquet files, in
`--rounds` rounds (Evidently once per round, each native variant best of 3): the fast Arrow
path, the pandas path it falls back to, and with `--before-src` the code before issue 24.
Prints a Markdown section and writes it to `--out`; `bench/run_all.py` joins the sections
into `docs/benchmarks.md`.

    python bench/bench_checks.py --rows 1000000     # the issue's size (Evidently takes minutes)
    python bench/bench_checks.py --rows 100000      # a quick run
    python bench/bench_checks.py --command-only     # only the whole-command comparison
    git archive <commit> src | tar -x -C /tmp/before   # then, for issue 24's before/after:
    python bench/bench_checks.py --command-only --rounds 3 --before-src /tmp/before/src
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
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


def write_parquet(rows: int, cols: int, folder: Path) -> None:
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'bench')!r}); import bench_checks as b; "
            f"r, c = b.make_frames({rows}, {cols}); r.to_parquet({str(folder / 'ref.parquet')!r}); "
            f"c.to_parquet({str(folder / 'cur.parquet')!r})")
    subprocess.run([sys.executable, "-c", code], env=ENV, check=True)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# The pandas path of this tree, as `argoscope check drift` runs it for the calls the fast
# path (`argoscope.checks.drift_arrow`) declines: the fast path made to decline every call
# (patched in the CLI module, which does not import numpy: the command's process settings
# must come before numpy is loaded).
PANDAS_PATH = ("import sys; from argoscope.checks import cli; "
               "cli._fast_drift = lambda *a, **k: None; "
               "from argoscope.cli import main; sys.exit(main(sys.argv[1:]))")
VARIANTS = {
    "evidently": "`argoscope check drift --engine evidently`",
    "before": "`argoscope check drift` before issue 24 (pandas)",
    "pandas": "`argoscope check drift`, pandas path (calls the fast path declines)",
    "native": "`argoscope check drift` (native: the fast Arrow path)",
}


def command_seconds(folder: Path, variant: str, repeats: int,
                    before_src: Path | None = None) -> tuple[float, float, dict]:
    """Wall and CPU seconds of `argoscope check drift` in a fresh interpreter (the run with
    the best wall time of `repeats`), and its document. `variant` is a key of VARIANTS."""
    cli = ["check", "drift", "--reference", "ref.parquet", "--current", "cur.parquet",
           "--engine", "evidently" if variant == "evidently" else "native", "--out", "-"]
    args = [sys.executable, *(["-c", PANDAS_PATH] if variant == "pandas"
                              else ["-m", "argoscope.cli"]), *cli]
    env = {**ENV, "PYTHONPATH": str(before_src)} if variant == "before" and before_src else ENV
    best, best_cpu, document = math.inf, math.inf, {}
    for _ in range(repeats):
        start, cpu = time.perf_counter(), _children_cpu()
        proc = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if wall < best:
            best, best_cpu = wall, _children_cpu() - cpu
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{variant}: exit {proc.returncode}: {proc.stderr[-2000:]}")
        document = json.loads(proc.stdout)
    return best, best_cpu, document


def _features(document: dict) -> list[dict]:
    return document["results"][0]["features"]


def command_section(rows: int, cols: int, rounds: int = 1,
                    before_src: Path | None = None) -> tuple[list[str], bool]:
    """The whole-command comparison, as Markdown lines, and whether every variant agreed
    and the fast path reached 40x Evidently (the median of the rounds, in wall time).

    Each round runs Evidently once and each native variant 3 times (best wall time), one
    after the other, so every ratio compares runs under the same load."""
    variants = ["evidently", *(["before"] if before_src else []), "pandas", "native"]
    measured: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
    documents: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_parquet(rows, cols, folder)
        for _ in range(rounds):
            for variant in variants:
                wall, cpu, documents[variant] = command_seconds(
                    folder, variant, 1 if variant == "evidently" else 3, before_src)
                measured[variant].append((wall, cpu))
    ours = _features(documents["native"])
    theirs = _features(documents["evidently"])
    agree = ([(f["feature"], f["method"], f["drifted"]) for f in ours]
             == [(f["feature"], f["method"], f["drifted"]) for f in theirs]
             and max_relative([f["score"] for f in ours], [f["score"] for f in theirs]) <= 1e-6)
    # The native paths give the same document: same scores to the last bit.
    identical = all(_features(documents[v]) == ours for v in variants if v != "evidently")

    def ratios(variant: str, which: int) -> list[float]:
        return [e[which] / n[which] for e, n in zip(measured["evidently"], measured[variant],
                                                    strict=True)]

    lines = [
        "| command | wall seconds | CPU seconds | vs Evidently (wall), per round | "
        "vs Evidently (CPU), per round |",
        "|---|---:|---:|---|---|",
    ]
    for variant in variants:
        walls = [w for w, _ in measured[variant]]
        cpus = [c for _, c in measured[variant]]
        if variant == "evidently":
            rel_wall = rel_cpu = "baseline"
        else:
            rel_wall = ", ".join(f"{r:.1f}x" for r in ratios(variant, 0))
            rel_cpu = ", ".join(f"{r:.1f}x" for r in ratios(variant, 1))
        lines.append(f"| {VARIANTS[variant]} | {statistics.median(walls):.2f} | "
                     f"{statistics.median(cpus):.2f} | {rel_wall} | {rel_cpu} |")
    fast = statistics.median(ratios("native", 0))
    lines += [
        "",
        f"- Median over {rounds} round(s): the fast path is {fast:.1f}x faster than Evidently "
        "in wall time (target >= 40x), "
        f"{statistics.median(ratios('native', 1)):.1f}x in CPU time"
        + (f"; before issue 24, {statistics.median(ratios('before', 0)):.1f}x and "
           f"{statistics.median(ratios('before', 1)):.1f}x" if before_src else "") + ".",
        f"- Same features, methods and verdicts as Evidently, scores within 1e-6: {agree}; "
        f"every native variant gives the same features and scores to the last bit: "
        f"{identical}.",
        "",
    ]
    header = [
        "### The whole command: `argoscope check drift` on Parquet",
        "",
        f"{rows:,} rows x {cols} columns of Parquet (reference and current each), each run a "
        "fresh `python ... check drift ... --out -`: interpreter start, imports, reading both "
        f"files, the checks and the document. {rounds} round(s); in each, Evidently runs once "
        "and each native variant 3 times (best wall time), one after the other, so a ratio "
        "compares runs under the same load. Seconds are medians over the rounds. CPU seconds "
        "(user + system) are less sensitive to other load on the machine.",
        "",
    ]
    return header + lines, agree and identical and fast >= 40


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
    parser.add_argument("--command-rows", type=int, default=500_000)
    parser.add_argument("--command-only", action="store_true",
                        help="only the whole-command comparison")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the whole-command comparison (default 3)")
    parser.add_argument("--before-src", type=Path,
                        help="a `src` folder of argoscope before issue 24, measured beside")
    parser.add_argument("--out", help="also write the Markdown section to this file")
    args = parser.parse_args()
    rows, cols = args.rows, args.cols
    command_lines, command_ok = command_section(args.command_rows, cols, args.rounds,
                                                args.before_src)
    if args.command_only:
        text = "\n".join(["## Checks: the whole command", "", *command_lines])
        print(text)
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8")
        return 0 if command_ok else 1

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
        *command_lines,
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
    agreed = same_verdicts and same_methods and same_counts and drift_diff <= 1e-6
    return 0 if agreed and command_ok else 1


if __name__ == "__main__":
    sys.exit(main())
