"""Checks at scale: rows/s per worker on Spark and Dask, 1 vs 2 workers, against GE and Evidently.

Data: ROWS x 6 columns (4 numerical, 2 categorical) as FILES Parquet files, reference and
current (half the numerical columns shifted). Each configuration runs in its own subprocess:

- argoscope drift and a 12-expectation suite on Spark (`local[W]`) and on Dask (a LocalCluster
  of W single-threaded worker processes), W = 1 and 2;
- Great Expectations' Spark engine on the same suite, and Evidently's legacy Spark engine
  (`DataDriftPreset`) on the same drift, both on `local[W]`, in the same run.

Rows/s per worker = rows checked (reference + current for drift) / seconds / W. Peak memory
per worker: Dask, each worker process's peak RSS; Spark, the peak RSS of the Python workers
and of the JVM (driver and executor are one JVM in local mode), sampled every 50 ms.
Prints a Markdown section and writes it to `--out` (bench/run_all.py joins the sections).

    python bench/bench_scale.py --rows 2000000
    python bench/bench_scale.py --rows 200000     # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "GX_ANALYTICS_ENABLED": "False",
       "PYSPARK_PYTHON": sys.executable}
NUMERICAL = ["n0", "n1", "n2", "n3"]


def suite() -> dict[str, Any]:
    """12 expectations, all of types every engine here runs."""
    exps: list[dict[str, Any]] = []
    for column in NUMERICAL[:3]:
        exps += [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": column}},
                 {"type": "expect_column_values_to_be_between",
                  "kwargs": {"column": column, "min_value": -10, "max_value": 10}},
                 {"type": "expect_column_mean_to_be_between",
                  "kwargs": {"column": column, "min_value": -1, "max_value": 1}}]
    exps += [{"type": "expect_column_values_to_be_in_set",
              "kwargs": {"column": "cat", "value_set": ["a", "b", "c", "d"]}},
             {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "cat"}},
             {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}]
    return {"name": "bench", "expectations": exps}


def make_data(folder: Path, rows: int, files: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    for name, shift in (("reference", 0.0), ("current", 0.2)):
        (folder / name).mkdir(parents=True)
        per = rows // files
        for index in range(files):
            frame = pd.DataFrame({c: rng.normal(shift if i % 2 else 0.0, 1, per)
                                  for i, c in enumerate(NUMERICAL)})
            frame["cat"] = rng.choice(["a", "b", "c", "d"], per)
            frame["flag"] = rng.choice(["yes", "no"], per)
            frame.to_parquet(folder / name / f"part-{index:03d}.parquet", index=False)


class Sampler:
    """Peak RSS of processes under this one, by kind (python workers, the JVM)."""

    def __init__(self) -> None:
        import psutil

        self.me = psutil.Process()
        self.peaks: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.05):
            for child in self.me.children(recursive=True):
                try:
                    kind = "jvm" if "java" in child.name() else "python worker"
                    rss = child.memory_info().rss / 2**20
                except Exception:
                    continue
                self.peaks[kind] = max(self.peaks.get(kind, 0.0), rss)


def child_spark(data: Path, workers: int, tool: str) -> dict[str, Any]:
    from pyspark.sql import SparkSession

    sampler = Sampler()
    spark = (SparkSession.builder.master(f"local[{workers}]").config("spark.ui.enabled", "false")
             .config("spark.driver.host", "127.0.0.1").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    reference = spark.read.parquet(str(data / "reference"))
    current = spark.read.parquet(str(data / "current"))
    rows = reference.count() + current.count()
    spark.range(10).toPandas()  # warm the Python workers
    out: dict[str, Any] = {}
    if tool == "argoscope":
        from argoscope.checks.api import Checks

        checks = Checks(path=data / "out.json")
        start = time.perf_counter()
        result = checks.drift(reference, current, severity="warning")
        out["drift_s"] = time.perf_counter() - start
        out["drift_status"] = result.status
        out["drift_exact"] = all(feature.exact for feature in result.features)
        start = time.perf_counter()
        checks.expect(current, suite())
        out["expect_s"] = time.perf_counter() - start
    elif tool == "ge":
        import great_expectations as gx
        from great_expectations.expectations.expectation_configuration import (
            ExpectationConfiguration,
        )

        context = gx.get_context(mode="ephemeral")
        batch = context.data_sources.add_spark("s").add_dataframe_asset("a") \
            .add_batch_definition_whole_dataframe("b").get_batch(
                batch_parameters={"dataframe": current})
        ge_suite = gx.ExpectationSuite(name="bench")
        for exp in suite()["expectations"]:
            ge_suite.add_expectation_configuration(ExpectationConfiguration(**exp))
        start = time.perf_counter()
        validation = batch.validate(ge_suite)
        out["expect_success"] = bool(validation.success)
        out["expect_s"] = time.perf_counter() - start
    else:
        from evidently.legacy.metric_preset import DataDriftPreset
        from evidently.legacy.report import Report
        from evidently.legacy.spark.engine import SparkEngine

        report = Report(metrics=[DataDriftPreset()])
        start = time.perf_counter()
        report.run(reference_data=reference, current_data=current, engine=SparkEngine)
        report.as_dict()
        out["drift_s"] = time.perf_counter() - start
    sampler.stop.set()
    spark.stop()
    out["rows"] = rows
    out["peak_mib"] = sampler.peaks
    return out


def child_dask(data: Path, workers: int) -> dict[str, Any]:
    import resource

    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    from argoscope.checks.api import Checks

    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None,
                      host="127.0.0.1") as cluster, Client(cluster) as client, \
            dask.config.set({"dataframe.convert-string": False}):
        reference = dd.read_parquet(str(data / "reference"))
        current = dd.read_parquet(str(data / "current"))
        rows = int(len(reference) + len(current))
        checks = Checks(path=data / "out.json")
        start = time.perf_counter()
        result = checks.drift(reference, current, severity="warning")
        drift_s = time.perf_counter() - start
        start = time.perf_counter()
        checks.expect(current, suite())
        expect_s = time.perf_counter() - start
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"rows": rows, "drift_s": drift_s, "expect_s": expect_s,
            "drift_status": result.status, "peak_mib": {"worker": max(peaks.values())},
            "drift_exact": all(feature.exact for feature in result.features)}


def run_child(*args: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], env=ENV,
                          capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:200]}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _rate(rows: float, seconds: float | None, workers: int) -> str:
    return "-" if not seconds else f"{rows / seconds / workers:,.0f}"


def _exact(flag: bool | None) -> str:
    return "-" if flag is None else "yes" if flag else "sketched (bounded)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows per sample")
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--out")
    parser.add_argument("--child", nargs=4, metavar=("ENGINE", "DATA", "WORKERS", "TOOL"))
    args = parser.parse_args()
    if args.child:
        engine, data, workers, tool = args.child
        found = child_spark(Path(data), int(workers), tool) if engine == "spark" \
            else child_dask(Path(data), int(workers))
        print(json.dumps(found))
        return 0
    lines = ["## Checks at scale (Spark, Dask)", "",
             f"{args.rows:,} rows per sample x 6 columns, {args.files} Parquet files per sample; "
             "drift reads both samples, the 12-expectation suite the current one. Rows/s per "
             "worker; peak RSS per worker process.", "",
             "| engine | tool | workers | drift rows/s/worker | drift exact | "
             "suite rows/s/worker | peak MiB |",
             "|---|---|---|---|---|---|---|"]
    found: dict[tuple[str, str, int], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        make_data(data, args.rows, args.files)
        runs = [(e, t, w) for w in (1, 2) for e, t in (("dask", "argoscope"),
                                                         ("spark", "argoscope"), ("spark", "ge"),
                                                         ("spark", "evidently"))]
        for engine, tool, workers in runs:
            result = run_child(engine, str(data), str(workers), tool)
            found[(engine, tool, workers)] = result
            if "error" in result:
                lines.append(f"| {engine} | {tool} | {workers} | could not run: "
                             f"{result['error']} | | | |")
                continue
            rows = result["rows"]
            peaks = ", ".join(f"{k} {v:,.0f}" for k, v in result["peak_mib"].items())
            lines.append(f"| {engine} | {tool} | {workers} | "
                         f"{_rate(rows, result.get('drift_s'), workers)} | "
                         f"{_exact(result.get('drift_exact'))} | "
                         f"{_rate(rows / 2, result.get('expect_s'), workers)} | {peaks} |")
            print(lines[-1], flush=True)
    lines.append("")
    for workers in (1, 2):
        ours = found.get(("spark", "argoscope", workers), {})
        for tool, key in (("ge", "expect_s"), ("evidently", "drift_s")):
            theirs = found.get(("spark", tool, workers), {})
            if ours.get(key) and theirs.get(key):
                lines.append(f"- Spark, {workers} worker(s): argoscope is "
                             f"{theirs[key] / ours[key]:.1f}x as fast as {tool} "
                             f"({'suite' if key == 'expect_s' else 'drift'}).")
    for engine in ("dask", "spark"):
        one, two = found.get((engine, "argoscope", 1), {}), found.get((engine, "argoscope", 2), {})
        if one.get("drift_s") and two.get("drift_s"):
            lines.append(f"- {engine}: 2 workers run drift {one['drift_s'] / two['drift_s']:.2f}x "
                         "as fast as 1.")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
