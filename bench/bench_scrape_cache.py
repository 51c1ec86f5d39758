"""Scrape cost with the exposition cache against the prometheus_client floor, 100 -> 100k runs.

For each cluster size (the synthetic Workflows of `bench_exporter`, 20 steps; a quarter of
the runs live, with their pods; the finished runs counted by watch events so counters and
histograms are served too), in one process:

- floor: `prometheus_client.generate_latest` over the very same families built in advance
  (the cost of Python exposition itself);
- full rendering: every collector's families built afresh and encoded by prometheus_client
  (what every scrape cost before the cache: a pass over every run and active pod, every
  table copied, every sample encoded);
- cached: the `/metrics` body as the server makes it, through the exposition cache:
  steady (nothing changed since the last scrape), and after a few watch events between
  scrapes (those runs' series and the store's totals change);
- gzip: the compressed body as served (made once per change of the body);
- the cache's size (bytes it holds), which the model's memory figure includes.

Usage: `python bench/bench_scrape_cache.py [--runs 100,10000] [--large] [--out FILE]`
(`--large` adds 100,000 runs: about a minute of ingest and 1-2 GiB).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_exporter as b

from argoscope.exporter.model import PODS, WORKFLOWS, Model
from argoscope.exporter.objects import decode_json
from argoscope.exporter.server import build_registry, metrics_app

STEPS = 20
REPEATS = 15
CHANGES = 10  # watch events between two scrapes, in the "after changes" figure


def build(runs: int) -> Model:
    """A model of `runs` Workflows (every fourth live, with its pods; the finished ones
    counted, so counters and histograms are served too), then watch events on live runs."""
    model = Model(clock=lambda: b.T0 + 10 * 86400)
    for batch in b.chunks(runs, 500):
        for i in batch:
            live = i % 4 == 0
            raw = json.dumps(b.workflow(i, STEPS, "Running" if live else "Succeeded",
                                        STEPS // 2 if live else STEPS)).encode()
            # Counted (not replayed): every pipeline's step series exist from the start, so
            # the events between scrapes change values, as in a cluster running a while.
            model.apply(WORKFLOWS, "LIST", decode_json(raw), replay=False)
            if live:
                for s in range(STEPS):
                    model.apply(PODS, "LIST", b.pod(i, s, STEPS, "Running"), replay=True)
    b.watch_updates(model, runs, STEPS, min(2_000, max(1, runs // 4)))
    return model


def paired(floor: Callable[[], object], action: Callable[[], object],
           between: Callable[[], None] | None = None) -> tuple[float, float]:
    """Median milliseconds of `action`, and the median of its ratios to the floor measured
    right before it each time (this machine is shared: pairs see the same load)."""
    times, ratios = [], []
    for _ in range(REPEATS):
        began = time.perf_counter()
        floor()
        base = time.perf_counter() - began
        if between is not None:
            between()
        began = time.perf_counter()
        action()
        spent = time.perf_counter() - began
        times.append(spent)
        ratios.append(spent / base)
    return statistics.median(times) * 1000, statistics.median(ratios)


def measure(runs: int) -> dict[str, float]:
    gc.collect()
    before = b.rss_mib()
    model = build(runs)
    gc.collect()
    model_mib = b.rss_mib() - before
    registry = build_registry(*model.collectors(), model.stats, on_error=model.stats.collect_error)
    app = metrics_app(registry, model.stats.collect_error)
    b"".join(app({"REQUEST_METHOD": "GET", "HTTP_ACCEPT_ENCODING": "gzip"}, lambda *a: None))
    gc.collect()
    # What serving keeps beside the model: the gauges' indexes, the lines, the gzip segments.
    serving_mib = b.rss_mib() - before - model_mib

    def serve(zipped: bool = False) -> bytes:
        environ = {"REQUEST_METHOD": "GET", "HTTP_ACCEPT_ENCODING": "gzip" if zipped else ""}
        return b"".join(app(environ, lambda *a: None))

    def full() -> bytes:
        # Fresh run and step gauge collectors (Model.collect makes them), tables copied.
        model.counters.forget_rendered()
        return generate_latest(build_registry(model.collect, model.stats.collect,
                                              on_error=model.stats.collect_error))

    body = serve()
    samples = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    floor_registry = CollectorRegistry(auto_describe=False)
    model.counters.forget_rendered()
    floor_registry.register(b._Prebuilt([*model.collect(), *model.stats.collect()]))
    def floor() -> bytes:
        return generate_latest(floor_registry)

    floor_ms, _ = paired(floor, floor)
    full_ms, full_x = paired(floor, full)
    serve()
    steady, steady_x = paired(floor, serve)
    serve(True)
    steady_gzip, steady_gzip_x = paired(floor, lambda: serve(True))
    live = list(range(0, runs, 4))
    step = iter(range(10**9))

    def changes() -> None:
        # Live runs move one step on: their step counters, the store's totals, run rows.
        for _ in range(CHANGES):
            n = next(step)
            index = live[n % len(live)]
            progress = min(STEPS - 1, STEPS // 2 + 1 + n // len(live))
            model.apply(WORKFLOWS, "MODIFIED", b.workflow(index, STEPS, "Running", progress))

    changed, changed_x = paired(floor, serve, changes)
    changed_gzip, changed_gzip_x = paired(floor, lambda: serve(True), changes)
    end_kib = len(serve()) / 1024
    return {"model_mib": model_mib, "serving_mib": serving_mib, "end_kib": end_kib,
            "runs": runs, "samples": samples, "kib": len(body) / 1024,
            "floor": floor_ms, "full": full_ms, "full_x": full_x, "steady": steady,
            "steady_x": steady_x, "steady_gzip": steady_gzip, "steady_gzip_x": steady_gzip_x,
            "changed": changed, "changed_x": changed_x, "changed_gzip": changed_gzip,
            "changed_gzip_x": changed_gzip_x,
            "cache_kib": app.flights.cache.size() / 1024}  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="100,10000",
                        help="cluster sizes, comma-separated (default 100,10000)")
    parser.add_argument("--large", action="store_true", help="add 100,000 runs")
    parser.add_argument("--out", type=Path, help="write the Markdown section here")
    args = parser.parse_args()
    sizes = [int(n) for n in args.runs.split(",")] + ([100_000] if args.large else [])
    rows = []
    for runs in sizes:
        result = measure(runs)
        print(json.dumps(result), file=sys.stderr)
        rows.append(result)
    lines = [
        "## Scrape with the exposition cache (issue 24)",
        "",
        f"`python bench/bench_scrape_cache.py --runs {args.runs}"
        f"{' --large' if args.large else ''}`, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores shared with other work; run on {time.strftime('%Y-%m-%d')}. "
        f"Synthetic runs of {STEPS} steps (`bench_exporter`), a quarter live with their pods, "
        "finished runs counted by watch events. Milliseconds are medians of "
        f"{REPEATS} scrapes; each ratio is the median of {REPEATS} ratios to the floor "
        "measured right before, in the same process (the machine is shared).",
        "",
        "| runs | samples (KiB) | floor ms | full rendering (before) | cached, nothing changed "
        f"| cached, {CHANGES} events between scrapes | gzip, nothing changed "
        f"| gzip, {CHANGES} events between | cache KiB (body at the end, KiB) "
        "| model MiB + kept for serving MiB |",
        "|---:|---|---:|---|---|---|---|---|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['runs']:,} | {r['samples']:,.0f} ({r['kib']:,.0f}) | {r['floor']:.2f} "
            f"| {r['full']:.2f} ms, **{r['full_x']:.2f}x** "
            f"| {r['steady']:.2f} ms, **{r['steady_x']:.2f}x** "
            f"| {r['changed']:.2f} ms, **{r['changed_x']:.2f}x** "
            f"| {r['steady_gzip']:.2f} ms, {r['steady_gzip_x']:.2f}x "
            f"| {r['changed_gzip']:.2f} ms, {r['changed_gzip_x']:.2f}x "
            f"| {r['cache_kib']:,.0f} ({r['end_kib']:,.0f}) "
            f"| {r['model_mib']:,.0f} + {r['serving_mib']:,.0f} |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
