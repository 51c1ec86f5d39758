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
- the resident memory a 10,000-run / 200,000-pod model adds, and the `/metrics` body after
  that ingest (median and fastest of 21).
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
sys.path.insert(0, sys.argv[1] + "/bench")
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
collects = (model.collect, model.stats.collect)
on_error = getattr(model.stats, "collect_error", None)
registry = (build_registry(*collects, on_error=on_error) if on_error
            else build_registry(*collects))
times = []
for _ in range(21):
    began = time.perf_counter()
    generate_latest(registry)
    times.append(time.perf_counter() - began)
del model, registry
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
# The live counting path: runs half done, then MODIFIED events finishing each step (its pod
# first, then its Workflow: so the attempt counts at once) and finally the run.
live_runs, steps = 300, 20
live_setup = ([(WORKFLOWS, json.dumps(b.workflow(i, steps, "Running", steps // 2)).encode())
               for i in range(live_runs)]
              + [(PODS, json.dumps(b.pod(i, s, steps, "Succeeded" if s < steps // 2
                                         else "Running")).encode())
                 for i in range(live_runs) for s in range(steps // 2 + 1)])
live_events = []
for s in range(steps // 2, steps):
    for i in range(live_runs):
        live_events.append((PODS, json.dumps(b.pod(i, s, steps, "Succeeded")).encode()))
        done = s + 1
        live_events.append((WORKFLOWS, json.dumps(b.workflow(
            i, steps, "Succeeded" if done == steps else "Running", done)).encode()))
best_lw = best_lp = float("inf")
for _ in range(3):
    model = Model(clock=lambda: b.T0 + 10 * 86400)
    for resource, raw in live_setup:
        model.apply(resource, "ADDED", decode_json(raw))
    spent = {WORKFLOWS: 0.0, PODS: 0.0}
    gc.collect()
    for resource, raw in live_events:
        began = time.process_time()
        model.apply(resource, "MODIFIED", decode_json(raw))
        spent[resource] += time.process_time() - began
    best_lw, best_lp = min(best_lw, spent[WORKFLOWS]), min(best_lp, spent[PODS])
live_counted = sum(1 for line in generate_latest(build_registry(model.collect)).splitlines()
                   if line.startswith(b"argoscope_step_runs_total{"))
del live_setup, live_events

# A 2,000-run dump: one JSON list of every Workflow and pod, read whole.
import orjson
dump_runs = 2000
dump = orjson.dumps({"kind": "List", "items": [
    *(b.workflow(i, steps, "Succeeded" if i % 4 else "Running", steps if i % 4 else 10)
      for i in range(dump_runs)),
    *(b.pod(i, s, steps, "Succeeded" if i % 4 else "Running")
      for i in range(dump_runs) for s in range(steps))]})
best_floor = best_dump = float("inf")
for _ in range(2):
    gc.collect()
    began = time.process_time()
    items = orjson.loads(dump)["items"]
    best_floor = min(best_floor, time.process_time() - began)
    del items
    gc.collect()
    model = Model(clock=lambda: b.T0 + 10 * 86400)
    began = time.process_time()
    for obj in decode_json(dump)["items"]:
        model.apply_object(obj)
    model.settle()
    best_dump = min(best_dump, time.process_time() - began)
del dump, model

print(json.dumps({"workflows_per_s": n / best_w, "pods_per_s": len(pods) / best_p,
                  "live_workflows_per_s": live_runs * (steps - steps // 2) / best_lw,
                  "live_pods_per_s": live_runs * (steps - steps // 2) / best_lp,
                  "live_step_series": live_counted,
                  "dump_ratio": best_dump / best_floor, "dump_s": best_dump,
                  "model_mib": model_mib,
                  "scrape_median_ms": statistics.median(times) * 1000,
                  "scrape_min_ms": min(times) * 1000}))
"""


def probe(tree: Path) -> dict[str, float]:
    """One measurement of the tree at `tree` (which holds `src/` and `bench/`)."""
    result = subprocess.run([sys.executable, "-c", _PROBE, str(tree)], capture_output=True,
                            text=True, check=True, env={"PYTHONPATH": str(tree / "src")})
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True,
                        help="a tree with the old src/ and bench/")
    parser.add_argument("--after", type=Path, default=HERE.parent,
                        help="the tree with the new code (default: this checkout)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for _ in range(args.rounds):
        runs["before"].append(probe(args.before))
        runs["after"].append(probe(args.after))
    print("| measure | before | after | after / before (medians) |")
    print("|---|---|---|---|")
    for key in ("workflows_per_s", "pods_per_s", "live_workflows_per_s", "live_pods_per_s",
                "live_step_series", "dump_s", "dump_ratio", "model_mib", "scrape_median_ms",
                "scrape_min_ms"):
        before = [run[key] for run in runs["before"]]
        after = [run[key] for run in runs["after"]]
        ratio = statistics.median(after) / statistics.median(before)
        print(f"| {key} | {' / '.join(f'{v:,.1f}' for v in before)} | "
              f"{' / '.join(f'{v:,.1f}' for v in after)} | {ratio:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
