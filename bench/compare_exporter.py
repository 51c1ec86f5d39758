"""Exporter before/after: list ingest and `/metrics` time of two source trees, interleaved.

On a shared machine single runs vary by tens of percent, so a change is judged by running the
old and the new code alternately, in fresh processes, several times:

    git archive <commit> src bench | tar -x -C /tmp/before
    python bench/compare_exporter.py --before /tmp/before [--rounds 3]

Each round measures, in each tree:

- Workflow and pod list ingest (best of 5, 2,000 Workflows x 20 steps, then 10,000 pods);
- the live watch counting path (best of 3): 300 runs half done, then MODIFIED events that
  finish them, each step's pod then its Workflow, so every Workflow event counts one
  attempt and the last one the run (events/s for each kind);
- a 2,000-run dump (Workflows and their 40,000 pods, one JSON list): decode + `apply_object`
  + `settle` against decoding alone (`orjson.loads`, the parse floor), best of 2;
- the resident memory a 10,000-run / 200,000-pod model adds, `generate_latest` on the
  registry after that ingest (median and fastest of 21), and the body as `/metrics` serves it
  (median of 21, and of its ratios to the floor: `generate_latest` over the same families
  built in advance, measured before each).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Runs inside the tree under test: its own `bench_exporter` builds the synthetic objects.
_PROBE = r"""
import gc, json, statistics, sys, time
# The objects and the measuring code are this checkout's (the same for both trees); only
# `argoscope` comes from the tree under test (PYTHONPATH).
sys.path.insert(0, sys.argv[2])
import bench_exporter as b
from prometheus_client import generate_latest
from argoscope.exporter.model import Model, WORKFLOWS, PODS
from argoscope.exporter.objects import decode_json
from argoscope.exporter.server import build_registry

# First, in a fresh heap: the memory a 10,000-run / 200,000-pod model adds, and its scrape.
def rss_mib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20

before_rss = rss_mib()
model = Model(clock=lambda: b.T0 + 10 * 86400)
b.ingest(model, 10_000, 20)
gc.collect()
model_mib = rss_mib() - before_rss
# As the exporter serves it: one collector per part (the model's collectors keep their
# totals between scrapes where the tree has them).
parts = getattr(model, "collectors", None)
collects = (*parts(), model.stats) if parts else (model.collect, model.stats.collect)
on_error = getattr(model.stats, "collect_error", None)
registry = (build_registry(*collects, on_error=on_error) if on_error
            else build_registry(*collects))
times = []
for _ in range(21):
    began = time.perf_counter()
    generate_latest(registry)
    times.append(time.perf_counter() - began)
# The body as /metrics serves it (the server's own rendering), each scrape paired with the
# floor: generate_latest over the same families built in advance.
from prometheus_client import CollectorRegistry
from argoscope.exporter.server import metrics_app
app = metrics_app(registry, on_error)
floor_registry = CollectorRegistry(auto_describe=False)
floor_registry.register(b._Prebuilt(list(registry.collect())))
served, ratios = [], []
for _ in range(21):
    began = time.perf_counter()
    generate_latest(floor_registry)
    floor = time.perf_counter() - began
    began = time.perf_counter()
    b"".join(app({"REQUEST_METHOD": "GET"}, lambda *a: None))
    served.append(time.perf_counter() - began)
    ratios.append(served[-1] / floor)
del model, registry, app, floor_registry
gc.collect()

n = 2000
wfs = [json.dumps(b.workflow(i, 20, "Succeeded" if i % 4 else "Running",
                             20 if i % 4 else 10)).encode() for i in range(n)]
pods = [json.dumps(b.pod(i, s, 20, "Succeeded")).encode()
        for i in range(n // 4) for s in range(20)]
best_w = best_p = float("inf")
for _ in range(5):
    model = Model(clock=lambda: b.T0 + 10 * 86400)
    gc.collect()
    began = time.process_time()
    for raw in wfs:
        model.apply(WORKFLOWS, "LIST", decode_json(raw), replay=True)
    best_w = min(best_w, time.process_time() - began)
    began = time.process_time()
    for raw in pods:
        model.apply(PODS, "LIST", decode_json(raw), replay=True)
    best_p = min(best_p, time.process_time() - began)
live = b.live_counting(lambda: Model(clock=lambda: b.T0 + 10 * 86400), repeats=3)
dump = b.dump_ingest(lambda: Model(clock=lambda: b.T0 + 10 * 86400), repeats=2)

print(json.dumps({"workflows_per_s": n / best_w, "pods_per_s": len(pods) / best_p,
                  **{f"live_{key}": value for key, value in live.items()},
                  **{f"dump_{key}": value for key, value in dump.items()},
                  "model_mib": model_mib,
                  "scrape_median_ms": statistics.median(times) * 1000,
                  "scrape_min_ms": min(times) * 1000,
                  "served_median_ms": statistics.median(served) * 1000,
                  "served_over_floor": statistics.median(ratios)}))
"""


# How list ingest and the model's memory scale: one size per fresh process.
_SCALE_PROBE = r"""
import gc, json, sys
sys.path.insert(0, sys.argv[2])
import bench_exporter as b
from argoscope.exporter.model import Model

before = b.rss_mib()
model = Model(clock=lambda: b.T0 + 10 * 86400)
rates = b.ingest(model, int(sys.argv[3]), 20)
gc.collect()
print(json.dumps({**rates, "model_mib": b.rss_mib() - before}))
"""


def probe(tree: Path, script: str = _PROBE, *extra: str) -> dict[str, float | str]:
    """One measurement of the tree at `tree` (which holds `src/` and `bench/`)."""
    result = subprocess.run([sys.executable, "-c", script, str(tree), str(HERE), *extra],
                            capture_output=True,
                            text=True, check=True, env={"PYTHONPATH": str(tree / "src")})
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True,
                        help="a tree with the old src/ and bench/")
    parser.add_argument("--after", type=Path, default=HERE.parent,
                        help="the tree with the new code (default: this checkout)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", help="instead: list ingest and memory at these numbers of "
                        "runs (comma-separated, 20 steps each), one round, fresh processes")
    args = parser.parse_args()
    if args.scale:
        return scale(args.before, args.after, [int(n) for n in args.scale.split(",")])
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for _ in range(args.rounds):
        runs["before"].append(probe(args.before))
        runs["after"].append(probe(args.after))
    print("| measure | before | after | after / before (medians) |")
    print("|---|---|---|---|")
    for key in ("workflows_per_s", "pods_per_s", "live_workflows_per_s", "live_pods_per_s",
                "dump_seconds", "dump_floor_seconds", "dump_ratio", "dump_frozen_seconds",
                "dump_frozen_ratio", "model_mib",
                "scrape_median_ms", "scrape_min_ms", "served_median_ms", "served_over_floor"):
        before = [float(run[key]) for run in runs["before"]]
        after = [float(run[key]) for run in runs["after"]]
        ratio = statistics.median(after) / statistics.median(before)
        print(f"| {key} | {' / '.join(f'{v:,.1f}' for v in before)} | "
              f"{' / '.join(f'{v:,.1f}' for v in after)} | {ratio:.3f} |")
    # What the model serves after the live path and after the dump, by both trees (fixed
    # clock): byte for byte, as a digest.
    for key in ("live_exposition", "dump_exposition"):
        digests = {str(run[key]) for run in runs["before"] + runs["after"]}
        print(f"| {key} sha256 | {'identical in every run' if len(digests) == 1 else 'DIFFERENT'}"
              f" | | |")
    return 0


def scale(before: Path, after: Path, sizes: list[int]) -> int:
    """List ingest rates and the model's memory at each size, before and after."""
    print("| runs (pods) | Workflows/s before / after | pods/s before / after | "
          "model MiB before / after |")
    print("|---|---|---|---|")
    for size in sizes:
        old, new = (probe(tree, _SCALE_PROBE, str(size)) for tree in (before, after))
        print(f"| {size:,} ({size * 20:,}) | "
              + " | ".join(f"{float(old[key]):,.0f} / {float(new[key]):,.0f}"
                           for key in ("workflows_per_s", "pods_per_s", "model_mib")) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
