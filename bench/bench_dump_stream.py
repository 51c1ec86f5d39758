"""Big dumps: peak memory and time of `argoscope exporter --source file:DUMP`, streamed.

A `kubectl get workflows,pods -A -o json`-shaped dump (one `List`, `kind` after `items`) of
RUNS Workflows of 20 steps and their pods (bench_exporter's synthetic objects) is written to a
temporary file. Each measurement runs in its own process (peak RSS only grows), with the
process's RSS after imports as its baseline:

- model: the same objects built in memory one at a time and applied to a `Model` (no file):
  the model's own size, and the floor for any reader;
- streamed: `FileSource(model, dump).snapshot()`, as the exporter reads a dump now (read
  through once, then one object at a time);
- whole: the dump decoded at once with `decode_json` then applied, as the exporter read it
  before streaming (optional, `--whole`: at 10,000 runs it needs several GiB);
- read only: `iter_objects(dump)` drained (survey + stream, no model) against the JSON parse
  floor, `orjson.loads` of the file's bytes.

Prints a Markdown section and writes it to `--out` (bench/run_all.py joins the sections).

    python bench/bench_dump_stream.py                 # 10,000 runs, 200,000 pods
    python bench/bench_dump_stream.py --runs 1000 --whole   # a quick run, with "before"
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
ENV = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT / 'bench'}"}
STEPS = 20
TARGET_OVER_MODEL_MIB = 100


def objects(runs: int) -> Iterator[dict[str, Any]]:
    """Every Workflow then every pod of the synthetic cluster, built one at a time."""
    from bench_exporter import pod, workflow

    for index in range(runs):
        finished = index % 4 != 0
        yield workflow(index, STEPS, "Succeeded" if finished else "Running",
                       STEPS if finished else STEPS // 2)
    for index in range(runs):
        for step in range(STEPS):
            yield pod(index, step, STEPS, "Succeeded" if index % 4 or step < STEPS // 2
                      else "Running")


def write_dump(path: Path, runs: int) -> int:
    """The dump as kubectl writes it (`items` first, `kind` last); its size in bytes."""
    import orjson

    with path.open("wb") as out:
        out.write(b'{"apiVersion":"v1","items":[')
        for index, obj in enumerate(objects(runs)):
            out.write((b"," if index else b"") + orjson.dumps(obj))
        out.write(b'],"kind":"List","metadata":{"resourceVersion":""}}\n')
    return path.stat().st_size


def write_yaml_dump(path: Path, runs: int) -> int:
    """The same objects as one YAML `kind: List` (`items` first, as kubectl writes it)."""
    import yaml

    with path.open("w", encoding="utf-8") as out:
        out.write("apiVersion: v1\nitems:\n")
        for obj in objects(runs):
            out.write(yaml.dump([obj], Dumper=yaml.CSafeDumper, sort_keys=False))
        out.write("kind: List\nmetadata:\n  resourceVersion: ''\n")
    return path.stat().st_size


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, dump: Path, runs: int) -> dict[str, float]:
    """One measurement, in this (fresh) process."""
    import orjson

    from argoscope.exporter.model import Model
    from argoscope.exporter.objects import decode_json
    from argoscope.exporter.sources.file import FileSource, iter_objects

    baseline = _rss_mib()
    began = time.perf_counter()
    count = 0
    model = Model()
    if mode == "yaml-whole":
        from argoscope.yamlsafe import load_all

        for document in load_all(dump.read_text(encoding="utf-8"), str(dump)):
            for obj in document["items"]:
                model.apply_object(obj)
        model.settle()
        del document
        mode = "done"
    if mode in ("model", "yaml-model"):
        for obj in objects(runs):
            model.apply_object(obj)
        model.settle()
    elif mode in ("streamed", "yaml-streamed"):
        FileSource(model, dump).snapshot()
    elif mode == "whole":
        document = decode_json(dump.read_text(encoding="utf-8"))
        for obj in document["items"]:
            model.apply_object(obj)
        model.settle()
        del document
    elif mode == "read":
        count = sum(1 for _ in iter_objects(dump))
    elif mode == "floor":
        count = len(orjson.loads(dump.read_bytes())["items"])
    seconds = time.perf_counter() - began
    return {"peak_mib": _peak_mib() - baseline, "seconds": seconds, "runs": model.run_count(),
            "pods": model.pod_count(), "count": count}


def measure(mode: str, dump: Path, runs: int) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--dump", str(dump), "--runs", str(runs)],
        capture_output=True, text=True, env=ENV, check=True)
    found: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--whole", action="store_true",
                        help="also measure reading the dump whole (as before streaming)")
    parser.add_argument("--yaml-runs", type=int,
                        help="runs in the YAML dump, streamed and read whole (default RUNS/50)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child")
    parser.add_argument("--dump", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.dump, args.runs)))
        return 0

    with tempfile.TemporaryDirectory() as folder:
        dump = Path(folder) / "dump.json"
        size = write_dump(dump, args.runs)
        results = {mode: measure(mode, dump, args.runs)
                   for mode in ["model", "streamed", *(["whole"] if args.whole else []),
                                "read", "floor"]}
        yaml_runs = args.yaml_runs or max(1, args.runs // 50)
        yaml_dump = Path(folder) / "dump.yaml"
        yaml_size = write_yaml_dump(yaml_dump, yaml_runs)
        for mode in ("yaml-model", "yaml-streamed", "yaml-whole"):
            results[mode] = measure(mode, yaml_dump, yaml_runs)
    model, streamed = results["model"], results["streamed"]
    assert streamed["runs"] == model["runs"] and streamed["pods"] == model["pods"]
    over = streamed["peak_mib"] - model["peak_mib"]
    rows = [
        ("dump", f"{args.runs:,} Workflows x {STEPS} steps, {int(model['pods']):,} pods: "
                 f"{size / 2**20:,.0f} MiB of JSON (one `List`, `kind` after `items`)", ""),
        ("model alone (objects built and applied one at a time, no file)",
         f"peak {model['peak_mib']:,.0f} MiB over the baseline, {model['seconds']:.1f} s", ""),
        ("`--source file:` streamed (read through, then applied one object at a time)",
         f"peak {streamed['peak_mib']:,.0f} MiB, {streamed['seconds']:.1f} s: "
         f"**model {over:+,.0f} MiB** ({streamed['peak_mib'] / model['peak_mib']:.2f}x the "
         "model)", f"model + {TARGET_OVER_MODEL_MIB} MiB"),
    ]
    if "whole" in results:
        whole = results["whole"]
        rows.append(("read whole, as before (decode_json, then applied)",
                     f"peak {whole['peak_mib']:,.0f} MiB, {whole['seconds']:.1f} s: "
                     f"model {whole['peak_mib'] - model['peak_mib']:+,.0f} MiB; streamed "
                     f"peaks at **{streamed['peak_mib'] / whole['peak_mib']:.2f}x**", ""))
    read, floor = results["read"], results["floor"]
    assert read["count"] == floor["count"]
    rows.append(("reading only: survey + stream vs `orjson.loads` of the file (the floor)",
                 f"{read['seconds']:.1f} s vs {floor['seconds']:.1f} s: "
                 f"**{read['seconds'] / floor['seconds']:.2f}x**; peak {read['peak_mib']:,.0f} "
                 f"vs {floor['peak_mib']:,.0f} MiB", ""))
    y_model, y_streamed, y_whole = (results[m] for m in ("yaml-model", "yaml-streamed",
                                                         "yaml-whole"))
    assert y_streamed["pods"] == y_whole["pods"] == y_model["pods"]
    rows.append((f"YAML `kind: List`, {yaml_runs:,} runs ({yaml_size / 2**20:,.0f} MiB): "
                 "streamed vs read whole (`yamlsafe.load_all`)",
                 f"peak model {y_streamed['peak_mib'] - y_model['peak_mib']:+,.0f} vs model "
                 f"{y_whole['peak_mib'] - y_model['peak_mib']:+,.0f} MiB; "
                 f"{y_streamed['seconds']:.1f} vs {y_whole['seconds']:.1f} s: "
                 f"**{y_streamed['seconds'] / y_whole['seconds']:.2f}x** the time", ""))
    lines = [
        "## Big dumps streamed (issue 25)",
        "",
        f"`python bench/bench_dump_stream.py --runs {args.runs}"
        f"{' --whole' if args.whole else ''}`, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores; run on {time.strftime('%Y-%m-%d', time.gmtime())}. Each line is "
        "its own process; peaks are peak RSS over that process's RSS after imports.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        *[f"| {name} | {value} | {target} |" for name, value, target in rows],
        "",
        "The file source reads a dump twice: a survey that builds nothing (ijson's events: the "
        "shape, since kubectl writes `kind` after `items`, the depth, and whether it is JSON "
        "ijson reads exactly), then ijson's C builder, one object at a time. Its peak is the "
        "model's plus one object and the parsers' buffers, whatever the dump's size.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
