"""Scrape-peak benchmark: the exporter's memory while serving a full exposition to concurrent
scrapers, against the shipped container limit.

A "full" exporter is one whose every namespace-keyed family is at its default cap
(`--max-series-per-family`, spread over `--max-namespaces` namespaces at
`--max-series-per-namespace` each): the counter and histogram families of runs and steps, the
GPU-time counters, the check families and the last-success gauge. Each measurement runs in its
own process (peak RSS only grows), fills the model, then serves it on a loopback port and
takes N concurrent scrapes of `/metrics`, recording the peak resident memory. The baseline,
measured in the same run, is prometheus_client's own WSGI app on the same registry (one
rendering per scrape, as the exporter served before concurrent scrapes shared one).

Usage: `python bench/bench_scrape_peak.py [--out FILE] [--scrapers N]`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LIMIT_MIB = 512  # manifests/base/deployment.yaml: resources.limits.memory


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fill(model: Any) -> int:
    """Every namespace-keyed table of `model` (and a GPU plug-in's) at its cap."""
    from argoscope.exporter.checkdocs import CheckDocuments
    from argoscope.exporter.records import StepRef

    config = model.config
    namespaces = config.max_namespaces
    per_namespace = min(config.max_series_per_namespace,
                        config.max_series_per_family // namespaces)
    checks = CheckDocuments(model.stats, max_series=config.max_series_per_family,
                            max_series_per_namespace=per_namespace, clock=model.clock,
                            tenants=model.tenants)
    model.observers.append(checks)
    document = json.dumps({"schema": "argoscope.checks/v1", "results": [
        {"check": "rows", "kind": "expectation", "status": "passed", "value": 1.0,
         "threshold": 0.0}]})
    node = {"outputs": {"parameters": [{"name": "argoscope-checks", "value": document}]}}
    tables = [*model.counters._counters, *model.counters._histograms]
    with model.lock:
        for n in range(namespaces):
            namespace = f"team-{n:03d}-namespace"
            for i in range(per_namespace):
                pipeline = f"pipeline-{i // 10:04d}-of-a-realistic-length"
                step = f"step-{i % 10}-name"
                for table in tables:
                    labels: tuple[str, ...] = (namespace, pipeline, step)
                    extra = len(table.family.labels) - 3
                    if table.family.labels[2:3] != ("step",):  # run families
                        labels = (namespace, f"{pipeline}-{i % 10}", "Succeeded")
                    elif extra:
                        labels = (*labels, *(["Succeeded", "OOMKilled"][:extra]))
                    if hasattr(table, "observe"):
                        table.observe(labels, 42.0)
                    else:
                        table.inc(labels, 3.0)
                model._last_success[(namespace, f"{pipeline}-{i % 10}")] = time.time()
                checks.on_node_finished(StepRef(namespace, pipeline, step, step, "wf", "n"),
                                        node, True)
    return sum(len(table.snapshot()) for table in tables)


def measure(mode: str, scrapers: int) -> dict[str, float]:
    """In this process: fill, serve with `mode` (`shared` or `baseline`), scrape concurrently."""
    import logging

    from prometheus_client import make_wsgi_app

    from argoscope.exporter.model import Model
    from argoscope.exporter.server import MetricsServer, build_registry

    logging.disable(logging.WARNING)
    model = Model()
    series = _fill(model)
    registry = build_registry(*model.collectors(), model.stats)
    server = MetricsServer(registry, "127.0.0.1", 0, lambda: True, request_timeout=300)
    if mode == "baseline":
        server._metrics = make_wsgi_app(registry)
        server.httpd.set_app(server._metrics)
    server.start()
    filled = _rss_mib()
    sizes: list[int] = []
    barrier = threading.Barrier(scrapers)

    def scrape() -> None:
        barrier.wait()
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        size = 0
        while chunk := response.read(1 << 16):
            size += len(chunk)
        sizes.append(size)
        connection.close()

    began = time.monotonic()
    threads = [threading.Thread(target=scrape) for _ in range(scrapers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    server.stop()
    return {"series": series, "filled_mib": filled, "peak_mib": _rss_mib(),
            "body_mib": max(sizes) / (1 << 20), "seconds": elapsed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the Markdown section here")
    parser.add_argument("--scrapers", type=int, default=4)
    parser.add_argument("--measure", choices=["shared", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.scrapers)))
        return 0
    results = {}
    for mode in ("baseline", "shared"):
        done = subprocess.run([sys.executable, __file__, "--measure", mode,
                               "--scrapers", str(args.scrapers)],
                              capture_output=True, text=True, check=True, cwd=ROOT)
        results[mode] = json.loads(done.stdout)
    base, shared = results["baseline"], results["shared"]
    lines = [
        "## Scrape peak (bench/bench_scrape_peak.py)",
        "",
        f"A full exporter (every namespace-keyed table at its default cap: {shared['series']:,}"
        f" counter and histogram series, plus check and last-success series) answering "
        f"{args.scrapers} concurrent scrapes of a {shared['body_mib']:.1f} MiB exposition. "
        "Peak resident memory of the whole process; baseline is prometheus_client's own WSGI "
        "app on the same registry, in the same run (one rendering per scrape).",
        "",
        "| serving | after filling (MiB) | peak while scraping (MiB) | added by the scrapes "
        f"| within the {LIMIT_MIB} MiB limit |",
        "|---|---|---|---|---|",
    ]
    for name, result in (("one rendering per scrape (baseline)", base),
                         ("shared rendering (single flight)", shared)):
        added = result["peak_mib"] - result["filled_mib"]
        lines.append(f"| {name} | {result['filled_mib']:.0f} | {result['peak_mib']:.0f} | "
                     f"{added:.0f} | {'yes' if result['peak_mib'] < LIMIT_MIB else 'no'} |")
        ratio = ((shared["peak_mib"] - shared["filled_mib"])
                 / max(1.0, base["peak_mib"] - base["filled_mib"]))
    lines += ["", f"Memory added by {args.scrapers} concurrent scrapes, shared / baseline: "
              f"{ratio:.2f}.", ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
