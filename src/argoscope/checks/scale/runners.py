"""What each engine does for the core: schedule a map over partitions and merge the states.

Spark runs the map with `mapInPandas` (one state per partition, folded over its Arrow
batches) and merges the states in a second `mapInPandas` after a small shuffle of states;
Dask maps with delayed tasks over `to_delayed()` partitions and merges in a tree of tasks.
Either way the driver receives merged states only, never rows. Uniqueness needs every copy of
a value in one place: a shuffle (`groupBy().count()` on Spark, `value_counts(split_out=)` on
Dask).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd

from argoscope.checks.scale.route import ScaleEngineName

State = TypeVar("State")
MERGE_FAN_IN = 8  # states merged by one task
SPARK_MERGE_TASKS = 16


class Runner(Protocol):
    """One engine's scheduling of the core."""

    name: ScaleEngineName

    def meta(self, frame: Any) -> pd.DataFrame:
        """An empty pandas frame with the frame's columns and the dtypes pandas gives them."""
        ...

    def fold(self, frame: Any, map_fn: Callable[[pd.DataFrame], State],
             merge_fn: Callable[[State, State], State]) -> State | None:
        """`map_fn` on every partition, merged with `merge_fn`; None for no partitions."""
        ...

    def duplicated(self, frame: Any, select: Callable[[pd.DataFrame], pd.Series]) -> int:
        """How many values of `select(partition)` occur more than once in the whole frame."""
        ...


def _fold_list(states: Iterable[Any], merge_fn: Callable[[Any, Any], Any]) -> Any:
    # States are merged as they come, so a partition's batches stream through one state.
    merged = None
    for state in states:
        merged = state if merged is None else merge_fn(merged, state)
    return merged


def _named(names: list[str], batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for batch in batches:
        batch.columns = names
        yield batch


def _positional(frame: Any) -> tuple[Any, list[str]]:
    """The frame with columns renamed `_0`, `_1`, ...: `mapInPandas` looks its columns up
    unquoted, so a name with a dot would not resolve; partitions get the names back."""
    names = list(frame.columns)
    return frame.toDF(*[f"_{index}" for index in range(len(names))]), names


def _spark_map(map_fn: Callable[[pd.DataFrame], Any], merge_fn: Callable[[Any, Any], Any],
               names: list[str], batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    merged = _fold_list((map_fn(batch) for batch in _named(names, batches)), merge_fn)
    if merged is not None:
        yield pd.DataFrame({"state": [pickle.dumps(merged)]})


def _spark_merge(merge_fn: Callable[[Any, Any], Any],
                 batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    merged = _fold_list((pickle.loads(blob) for batch in batches for blob in batch["state"]),
                        merge_fn)
    if merged is not None:
        yield pd.DataFrame({"state": [pickle.dumps(merged)]})


def _present(select: Callable[[pd.DataFrame], pd.Series], names: list[str],
             batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for batch in _named(names, batches):
        values = select(batch).dropna()
        yield pd.DataFrame({"value": values.map(_key).astype(object)})


def _key(value: Any) -> str:
    # One text key per value, so Spark groups what pandas hashes as equal: 1, 1.0 and True.
    if isinstance(value, str):
        return "s:" + value
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return f"n:{int(value)}"
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return f"n:{int(number)}" if number.is_integer() else f"n:{number!r}"
    return f"o:{value!r}"


class SparkRunner:
    """Spark: `mapInPandas` maps and merges; the driver collects a few merged states."""

    name: ScaleEngineName = "spark"

    def meta(self, frame: Any) -> pd.DataFrame:
        """The pandas dtypes Spark's Arrow conversion gives each column."""
        return frame.limit(0).toPandas()  # zero rows: only the schema travels

    def fold(self, frame: Any, map_fn: Callable[[pd.DataFrame], State],
             merge_fn: Callable[[State, State], State]) -> State | None:
        safe, names = _positional(frame)
        states = safe.mapInPandas(partial(_spark_map, map_fn, merge_fn, names), "state binary")
        merged = states.repartition(SPARK_MERGE_TASKS).mapInPandas(
            partial(_spark_merge, merge_fn), "state binary")
        return _fold_list([pickle.loads(row["state"]) for row in merged.collect()],  # type: ignore[no-any-return]
                          merge_fn)

    def duplicated(self, frame: Any, select: Callable[[pd.DataFrame], pd.Series]) -> int:
        from pyspark.sql import functions as F

        safe, names = _positional(frame)
        keys = safe.mapInPandas(partial(_present, select, names), "value string")
        row = keys.groupBy("value").count().where(F.col("count") > 1) \
            .agg(F.sum("count").alias("n")).collect()[0]
        return int(row["n"] or 0)


def _dask_merge(merge_fn: Callable[[Any, Any], Any], *states: Any) -> Any:
    return _fold_list([state for state in states if state is not None], merge_fn)


def _dask_select(select: Callable[[pd.DataFrame], pd.Series], part: pd.DataFrame) -> pd.Series:
    return select(part).dropna().astype(object)  # pandas' own equality, as in `duplicated`


class DaskRunner:
    """Dask: a delayed task per partition, merged in a tree of tasks on the workers."""

    name: ScaleEngineName = "dask"

    def meta(self, frame: Any) -> pd.DataFrame:
        """The dtypes Dask declares for each column."""
        return pd.DataFrame({column: pd.Series(dtype=dtype)
                             for column, dtype in frame.dtypes.items()})

    def fold(self, frame: Any, map_fn: Callable[[pd.DataFrame], State],
             merge_fn: Callable[[State, State], State]) -> State | None:
        from dask.delayed import delayed

        states = [delayed(map_fn)(part) for part in frame.to_delayed()]
        if not states:
            return None
        while len(states) > 1:
            states = [delayed(partial(_dask_merge, merge_fn))(*states[i:i + MERGE_FAN_IN])
                      for i in range(0, len(states), MERGE_FAN_IN)]
        return states[0].compute()  # type: ignore[no-any-return]

    def duplicated(self, frame: Any, select: Callable[[pd.DataFrame], pd.Series]) -> int:
        keys = frame.map_partitions(partial(_dask_select, select), meta=("value", object))
        counts = keys.value_counts(split_out=max(1, frame.npartitions // 4))
        return int(counts[counts > 1].sum().compute())


RUNNERS: dict[str, Callable[[], Runner]] = {"spark": SparkRunner, "dask": DaskRunner}


def runner(name: str) -> Runner:
    """The runner of engine `name` ("spark" or "dask")."""
    return RUNNERS[name]()
