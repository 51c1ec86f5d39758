"""Checks on Spark and Dask frames: one map -> merge -> test core for both engines.

Each partition is summarised into a mergeable state (`summary`), states merge associatively on
the workers (`runners`: `mapInPandas` on Spark, `map_partitions`/delayed on Dask), and the test
runs on the merged state on the driver (`drift`, `expect`). No rows reach the driver.

What is exact and what is not (see docs/scale.md):

- counts (nulls, sets, ranges, row counts, category and histogram counts) are exact, so every
  test that is a function of them is exact;
- order statistics are exact while a column has at most `exact_budget` distinct values per
  sample (the merged value-count table is the sorted data, run-length encoded); beyond that
  they come from Apache DataSketches' KLL sketch and carry its rank-error bound, which the
  verdict takes into account: nothing is silently approximate.

Importing this package imports neither pyspark nor dask; they are imported when a frame of
theirs is checked or their engine is named.
"""

from __future__ import annotations

from argoscope.checks.scale.route import ENGINES, ScaleEngineName, engine_of

__all__ = ["ENGINES", "ScaleEngineName", "engine_of"]
