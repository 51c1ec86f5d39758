"""Which engine a frame belongs to, read from its type's module: nothing is imported to ask."""

from __future__ import annotations

from typing import Literal, get_args

from argoscope.checks.results import CheckInputError

ScaleEngineName = Literal["spark", "dask"]
ENGINES: tuple[ScaleEngineName, ...] = get_args(ScaleEngineName)
_MODULE_PREFIXES: dict[str, ScaleEngineName] = {"pyspark.": "spark", "dask.": "dask",
                                                "dask_expr.": "dask"}


def engine_of(frame: object) -> ScaleEngineName | None:
    """"spark" for a `pyspark.sql.DataFrame`, "dask" for a `dask.dataframe.DataFrame`, else None."""
    kind = type(frame)
    if kind.__name__ != "DataFrame":
        return None
    module = kind.__module__ + "."
    for prefix, engine in _MODULE_PREFIXES.items():
        if module.startswith(prefix):
            return engine
    return None


def pick(engine: str, frames: tuple[object, ...], in_memory: str) -> str:
    """The engine that runs a check on `frames` when `engine` is asked for.

    A distributed frame picks its own engine when the caller left the in-memory default
    (`in_memory`, or "auto"); an engine named for frames of another kind is an input error.
    """
    found = {engine_of(frame) for frame in frames}
    if len(found) > 1:
        names = ", ".join(sorted(str(name or "pandas") for name in found))
        raise CheckInputError(f"the frames of one check must be of one kind, not {names}")
    (kind,) = found
    if engine in ENGINES:
        if kind != engine:
            raise CheckInputError(f"engine {engine!r} needs {engine} DataFrames, not "
                                  f"{type(frames[0]).__module__}.{type(frames[0]).__name__}")
        return engine
    if kind is None:
        return engine
    if engine not in (in_memory, "auto"):
        raise CheckInputError(f"engine {engine!r} runs on pandas frames; a {kind} DataFrame "
                              f"runs on engine={kind!r}")
    return kind
