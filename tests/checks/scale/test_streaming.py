"""Data several times larger than a Dask worker's memory limit is checked by streaming over
its partitions: no worker holds more than a partition and the merged states."""

from __future__ import annotations

import dask
import numpy as np
import pandas as pd

from argoscope.checks.expect import validate
from argoscope.checks.results import document
from tests.checks.scale.conftest import WORKER_MEMORY_LIMIT, read


def test_three_times_a_workers_memory_is_checked_exactly(dask_client, tmp_path):
    # The workers run with pausing off: one holding more than its limit is killed and this fails
    # with KilledWorker rather than waiting (tests/checks/scale/conftest.py).
    pausing = dask_client.run(lambda: dask.config.get("distributed.worker.memory.pause"))
    assert set(pausing.values()) == {False}
    folder = tmp_path / "big"
    folder.mkdir()
    rng = np.random.default_rng(0)
    rows, files, total_nulls, total_rows = 400_000, 140, 0, 0
    for index in range(files):
        part = pd.DataFrame({"a": rng.integers(0, 100, rows), "b": rng.integers(0, 7, rows),
                             "c": rng.integers(0, 1000, rows).astype(float)})
        part.loc[part.index[:index], "c"] = np.nan
        total_nulls += index
        total_rows += rows
        part.to_parquet(folder / f"part-{index:03d}.parquet", index=False)
    in_memory = total_rows * 3 * 8
    assert in_memory > 3 * WORKER_MEMORY_LIMIT
    results = document(validate(read("dask", folder), {"expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "c"}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "a", "min_value": 0, "max_value": 98}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}]}))
    null, between, count = results["results"]
    assert null["details"]["unexpected_count"] == total_nulls
    assert count["value"] == total_rows
    assert 0 < between["details"]["unexpected_count"] < total_rows / 50
    assert all(r["exact"] for r in results["results"])
