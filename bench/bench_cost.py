"""Cost benchmark: what pricing (`--prices`) adds to ingest, measured against no pricing in the
same run (a ratio, not an absolute number).

Live ingest (pods first, then their Workflows, every attempt counted), of the same synthetic
cluster as `bench_exporter.py`, into a model without and with the cost plug-in.

Usage: `python bench/bench_cost.py [--workflows N] [--steps N]`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_exporter import chunks, pod, workflow

from argoscope.cost.prices import parse_prices
from argoscope.exporter.cost import CostAttribution
from argoscope.exporter.model import PODS, WORKFLOWS, Model
from argoscope.exporter.objects import decode_json

BOOK = parse_prices({"currency": "USD", "default": {
    "cpu_core_hour": 0.03, "memory_gib_hour": 0.004, "gpu_hour": 1.0}}, "bench")


def ingest(model: Model, workflows: int, steps: int) -> float:
    """CPU seconds to apply every pod then every Workflow (decoded beforehand)."""
    seconds = 0.0
    for batch in chunks(workflows, 250):
        pods = [decode_json(json.dumps(pod(i, s, steps, "Succeeded")).encode())
                for i in batch for s in range(steps)]
        runs = [decode_json(json.dumps(workflow(i, steps, "Succeeded", steps)).encode())
                for i in batch]
        began = time.process_time()
        for obj in pods:
            model.apply(PODS, "ADDED", obj)
        for obj in runs:
            model.apply(WORKFLOWS, "ADDED", obj)
        seconds += time.process_time() - began
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workflows", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    plain = ingest(Model(), args.workflows, args.steps)
    priced_model = Model()
    cost = CostAttribution(priced_model.stats, BOOK)
    priced_model.observers.append(cost)
    priced = ingest(priced_model, args.workflows, args.steps)
    attempts, pods, runs = cost.pending()
    print(f"{args.workflows} workflows x {args.steps} steps: without prices {plain:.2f}s, "
          f"with prices {priced:.2f}s, ratio {priced / plain:.2f}; "
          f"pending after ingest: {attempts} attempts, {pods} pods, {runs} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
