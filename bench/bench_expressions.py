"""Expressions benchmark: a nested-quantifier `when` pattern, Python's `re` against RE2.

The local runner evaluates `=~` in `when` with RE2 (`argoscope.local.regex`, as Argo's Go
regexp). This measures why: `^(a+)+$` against n a's and a final `!` (no match), the time of
Python's backtracking `re` (the baseline, the runner's engine before) and of the runner's own
`when` evaluation, in the same run, for growing n. `re` doubles with each character; RE2 stays
flat, and still answers at sizes `re` could not finish. Each `re` measurement runs in a child
process with a time budget, so the benchmark itself cannot be stalled either.

Usage: `python bench/bench_expressions.py [--out FILE] [--budget SECONDS]`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

PATTERN = "^(a+)+$"
RE_SIZES = [16, 18, 20, 22, 24, 26]
RE2_ONLY_SIZES = [1_000, 100_000]
REPEATS = 5

_CHILD = """
import re, sys, time
text = "a" * int(sys.argv[1]) + "!"
best = float("inf")
for _ in range(int(sys.argv[3])):
    started = time.perf_counter()
    assert re.search(sys.argv[2], text) is None
    best = min(best, time.perf_counter() - started)
print(best)
"""
# Best of this many `re` runs up to n = 22 (the machine is shared); one above, where one run
# already takes seconds.
RE_REPEATS_SMALL = 3


def time_re(n: int, budget: float) -> float | None:
    """Seconds Python's `re` takes on n a's (None when over `budget`)."""
    try:
        repeats = RE_REPEATS_SMALL if n <= 22 else 1
        done = subprocess.run([sys.executable, "-c", _CHILD, str(n), PATTERN, str(repeats)],
                              capture_output=True, text=True, timeout=budget, check=True)
    except subprocess.TimeoutExpired:
        return None
    return float(done.stdout)


def time_runner(n: int) -> float:
    """Seconds the runner's `when` evaluation takes on n a's (best of REPEATS)."""
    from argoscope.local.expr import evaluate_when

    expression = f"'{'a' * n}!' =~ '{PATTERN}'"
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        assert evaluate_when(expression) is False
        best = min(best, time.perf_counter() - started)
    return best


def _ms(seconds: float | None, budget: float) -> str:
    return f"> {budget * 1000:.0f} (stopped)" if seconds is None else f"{seconds * 1000:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the Markdown section here")
    parser.add_argument("--budget", type=float, default=20.0,
                        help="seconds one `re` measurement may take (default 20)")
    args = parser.parse_args()
    time_runner(8)  # compile once, import once: what follows is matching
    rows = []
    for n in RE_SIZES:
        baseline = time_re(n, args.budget)
        runner = time_runner(n)
        ratio = "-" if baseline is None else f"{baseline / runner:,.0f}"
        rows.append(f"| {n} | {_ms(baseline, args.budget)} | {runner * 1000:.3f} | {ratio} |")
    for n in RE2_ONLY_SIZES:
        rows.append(f"| {n:,} | not run | {time_runner(n) * 1000:.3f} | - |")
    section = "\n".join([
        "## Expressions: `=~` in `when` (bench/bench_expressions.py)",
        "",
        f"`'aaa…a!' =~ '{PATTERN}'` (no match) on n a's: Python's backtracking `re` (the "
        "baseline, the runner's engine before; each in a child process with a "
        f"{args.budget:.0f} s budget, best of {RE_REPEATS_SMALL} up to n = 22) against the "
        f"runner's `when` evaluation with RE2 (best of {REPEATS}), in the same run.",
        "",
        "| n | `re` (ms) | runner, RE2 (ms) | `re` / RE2 |",
        "|---|---|---|---|",
        *rows,
        "",
    ])
    print(section)
    if args.out:
        args.out.write_text(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
