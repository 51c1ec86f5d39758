"""Run every benchmark once and write `docs/benchmarks.md` from their Markdown sections.

`make bench` runs this. Each benchmark is a plain script that prints its section and writes
it with `--out`; this file only runs them in turn and joins the sections.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = [
    ("bench_exporter.py", []),
    ("bench_checks.py", []),
    ("bench_series.py", []),
    ("bench_scrape_peak.py", []),
    ("bench_scrape_cache.py", []),
    ("bench_reports.py", []),
    ("bench_scale.py", []),
    ("bench_expressions.py", []),
    ("bench_dump_stream.py", ["--runs", "10000"]),
]


def main() -> int:
    sections = [
        "# Benchmarks",
        "",
        "Measured with `make bench` on the project's reference machine (2 cores, 24 GiB, no GPU).",
        "Each figure is a ratio against a baseline measured in the same run, or an absolute",
        "figure with its target; none of them is asserted by a test.",
        "",
    ]
    for script, extra in BENCHMARKS:
        path = ROOT / "bench" / script
        if not path.exists():
            continue
        with tempfile.NamedTemporaryFile(suffix=".md") as out:
            result = subprocess.run([sys.executable, str(path), "--out", out.name, *extra],
                                    cwd=ROOT)
            if result.returncode != 0:
                print(f"{script} failed with exit code {result.returncode}", file=sys.stderr)
                return result.returncode
            sections.append(Path(out.name).read_text().rstrip() + "\n")
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(sections))
    print("wrote docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
