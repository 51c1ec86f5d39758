"""One real local Spark session (`local[2]`) and one real Dask `LocalCluster` (2 worker
processes) for every test here: the JVM and the worker processes start once per session."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

# Each Dask worker may hold this much; tests/checks/scale/test_streaming.py reads three times more.
# A worker's RSS settles near 210 MiB once pandas, pyarrow and a partition's buffers are in it,
# so the limit leaves room above that.
WORKER_MEMORY_LIMIT = 400 * 1024**2
# A worker is killed (and the computation fails with KilledWorker) past this share of the limit.
# Pausing is off: a paused worker whose memory is unmanaged (imports, allocator pools) never
# resumes, so the computation would wait forever instead of failing.
WORKER_MEMORY = {"distributed.worker.memory.pause": False,
                 "distributed.worker.memory.terminate": 0.95}


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A local Spark session with two cores; its Python workers run this interpreter."""
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (SparkSession.builder.master("local[2]").appName("argoscope-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.driver.memory", "1g")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A Dask LocalCluster of two single-threaded worker processes on loopback."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set(WORKER_MEMORY), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=None, memory_limit=WORKER_MEMORY_LIMIT) as cluster, \
            Client(cluster, set_as_default=True) as client:
        yield client


def write_parquet(frame: pd.DataFrame, folder: Path, files: int) -> Path:
    """`frame` as `files` Parquet files in `folder`, rows in order."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, rows in enumerate(np.array_split(np.arange(len(frame)), files)):
        frame.iloc[rows].to_parquet(folder / f"part-{index:03d}.parquet", index=False)
    return folder


def read(engine: str, folder: Path, spark: Any = None) -> Any:
    """The Parquet folder as the engine's DataFrame (strings as Python objects, as pandas)."""
    if engine == "spark":
        return spark.read.parquet(str(folder))
    import dask
    import dask.dataframe as dd

    with dask.config.set({"dataframe.convert-string": False}):
        return dd.read_parquet(str(folder))


@pytest.fixture(params=["spark", "dask"])
def engine(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    """Each engine in turn, with what reads Parquet into it."""
    if request.param == "spark":
        session = request.getfixturevalue("spark")
        yield "spark", lambda folder: read("spark", folder, session)
    else:
        request.getfixturevalue("dask_client")
        yield "dask", lambda folder: read("dask", folder)
