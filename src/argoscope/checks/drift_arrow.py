"""The fast drift path: `argoscope check drift` on Parquet, straight from Arrow into numpy.

The pandas path (`cli.read_table`, then `drift_native.dataset_drift`) defines the result; this
path only takes a call whose result it gives exactly (the same features, methods, scores to
the last bit and verdicts), and declines every other call by returning None, so that the
caller runs the pandas path, which also words every error. It takes a call when:

- both files are Parquet and every column pandas would read from them (index columns left
  out, names kept as written) is a float32, float64 or signed integer column, as pandas
  would read it (no extension type, string-named columns);
- the call uses the default test or asks for `wasserstein`, with no declared column types,
  and the test each column gets is the Wasserstein distance (Evidently's choice for a
  numerical column with more than 1,000 usable reference values and more than 5 distinct
  values); an integer column with at most 10 distinct current values is categorical, so
  declined;
- bottleneck is not installed (pandas would compute the reference's std with it).

What it saves: importing pandas and building two DataFrames, reading columns the call does
not test, and a copy per sample. Columns are tested side by side in threads (numpy's sorts
release the GIL), each sample is sorted once into the buffer the merge reads, and the
reference's sort serves both the method choice and the distance.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from argoscope.checks import arguments
from argoscope.checks.drift_columns import INTEGER_CARDINALITY_LIMIT
from argoscope.checks.drift_stattests import (
    SMALL_REFERENCE,
    TESTS,
    Merged,
    default_test,
    import_scipy_dot,
    normed_wasserstein,
)
from argoscope.checks.results import CheckInputError, FeatureResult

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

PARQUET_SUFFIXES = (".parquet", ".pq")  # what `cli.read_table` reads as Parquet
# Failures of the input that make this path decline: the pandas path meets them again and
# words them (Arrow's own errors are added where pyarrow is imported). Any other exception is
# a bug of this path and is raised, never hidden behind the slower path.
_DECLINE: tuple[type[BaseException], ...] = (CheckInputError, ValueError, OSError, ImportError)


class Declined(Exception):
    """This path cannot give the pandas path's result for the call."""


@dataclass(frozen=True, slots=True)
class ParquetColumns:
    """What pandas would read from one Parquet file: its columns in order, each with its
    Arrow type when pandas reads it as that type's plain numpy type (else None)."""

    path: Path
    rows: int
    types: dict[str, pa.DataType | None]

    def numeric(self, column: str) -> pa.DataType:
        """The column's type; Declined when this path does not read it."""
        kind = self.types[column]
        if kind is None:
            raise Declined(f"column {column!r} is not a plain numeric column")
        return kind


def _pandas_metadata(meta: Any) -> tuple[list[Any], list[Any], list[Any]]:
    """The column levels, index columns and column entries pandas wrote in the footer;
    Declined when another tool (or a hostile writer) gave that entry another shape."""
    unexpected = Declined("pandas metadata of an unexpected shape")
    if not isinstance(meta, dict):
        raise unexpected
    labels, index_columns, columns = (meta.get("column_indexes") or [],
                                      meta.get("index_columns", []), meta.get("columns", []))
    if not all(isinstance(part, list) for part in (labels, index_columns, columns)) or not all(
            isinstance(entry, dict) for entry in (*labels, *columns)):
        raise unexpected
    return labels, index_columns, columns


def frame_columns(path: Path) -> ParquetColumns:
    """The columns `pd.read_parquet(path)` would give, read from the footer alone; Declined
    when their labels would not be these strings."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        schema, rows = file.schema_arrow, file.metadata.num_rows
    meta: Any = schema.pandas_metadata or {}
    labels, index_columns, columns = _pandas_metadata(meta)
    # Column labels that are not plain strings (integers, several levels) come back as such.
    if len(labels) > 1 or any(level.get("pandas_type") != "unicode" for level in labels):
        raise Declined("column labels are not plain strings")
    index = {name for name in index_columns if isinstance(name, str)}
    described = {entry.get("field_name"): entry for entry in columns}
    names = [name for name in schema.names if name not in index]
    if len(set(names)) != len(names):
        raise Declined("duplicate column names")
    types: dict[str, pa.DataType | None] = {}
    for name in names:
        entry = described.get(name, {})
        if meta and entry.get("name") != name:
            raise Declined(f"column {name!r} has another label in pandas")
        kind = schema.field(name).type
        plain = _numpy_name(kind)
        # pandas' metadata can name an extension type (Int64, Float64) for the column.
        types[name] = kind if plain and (not meta or entry.get("numpy_type") == plain) else None
    return ParquetColumns(path, rows, types)


def _numpy_name(kind: pa.DataType) -> str | None:
    """The numpy dtype pandas holds a column of this Arrow type in, for the types this path
    reads (float32, float64, signed integers); None for the others."""
    import pyarrow as pa

    if pa.types.is_float32(kind) or pa.types.is_float64(kind) \
            or pa.types.is_signed_integer(kind):
        return str(np.dtype(kind.to_pandas_dtype()))
    return None


def _values(column: pa.ChunkedArray) -> np.ndarray:
    """A column as pandas would hold it: nulls as NaN, so integers with nulls as float64
    (no copy for one chunk without nulls)."""
    parts = [_chunk_values(chunk) for chunk in column.chunks]
    if len(parts) == 1:
        return parts[0]
    # An integer chunk with nulls is float64: concatenating widens the others, as pandas does.
    return np.concatenate(parts) if parts else np.empty(0)


def _chunk_values(chunk: pa.Array) -> np.ndarray:
    # Read from the buffers: pyarrow's own to_numpy imports pandas.
    dtype = np.dtype(chunk.type.to_pandas_dtype())
    if not len(chunk):
        return np.empty(0, dtype=dtype)
    validity, data = chunk.buffers()
    values = np.frombuffer(data, dtype=dtype, count=len(chunk),
                           offset=chunk.offset * dtype.itemsize)
    if not chunk.null_count:
        return values
    bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
    present = bits[chunk.offset:chunk.offset + len(chunk)].view(bool)
    filled = values.astype(np.float64 if dtype.kind == "i" else dtype)
    filled[~present] = np.nan
    return filled


def _usable(values: np.ndarray) -> np.ndarray:
    """`drift_native._clean` for a numeric column: finite values, in their order."""
    if values.dtype.kind == "f":
        finite = np.isfinite(values)  # one pass for NaN and ±inf alike
        if not finite.all():
            values = values[finite]
    if not len(values):
        raise Declined("no usable values")
    return values


def pandas_std(values: np.ndarray) -> float:
    """`float(np.std(series))` for a Series holding `values` (none missing): pandas' own
    two-pass variance (`nanops.nanvar`, ddof 0), counted in the values' float type and
    rounded to it, then its square root; integers are counted as float64."""
    dtype = values.dtype
    if dtype.kind in "iu":
        values = values.astype("f8")
    count = (dtype if dtype.kind == "f" else np.dtype("f8")).type(len(values))
    average = values.sum(dtype=np.float64) / count
    variance = ((average - values) ** 2).sum(dtype=np.float64) / (count - count.dtype.type(0))
    if dtype.kind == "f":
        variance = variance.astype(dtype, copy=False)
    return float(np.sqrt(variance))


def _feature(column: str, reference: np.ndarray, current: np.ndarray, method: str | None,
             threshold: float | None) -> FeatureResult:
    """`drift_native.column_drift` for a numerical column whose test is the Wasserstein
    distance; Declined for any other test."""
    ref, cur = _usable(reference), _usable(current)
    if len(ref) <= SMALL_REFERENCE and method is None:
        raise Declined(f"column {column!r}: a small reference gets KS, chi-square or Z")
    merged = Merged.of_arrays(ref, cur) if len(ref) > SMALL_REFERENCE else None
    test = TESTS["wasserstein"] if method == "wasserstein" else \
        default_test(ref, cur, "num", merged)
    if test.name != "wasserstein":
        raise Declined(f"column {column!r} gets {test.name}")
    limit = test.default_threshold if threshold is None else arguments.threshold(
        test.name, threshold, f"threshold for column {column!r}")
    score = normed_wasserstein(ref, cur, pandas_std(ref), merged)
    return FeatureResult(column, test.name, score, limit, test.drifted(score, limit))


def drift_parquet(reference: str | Path, current: str | Path, columns: Sequence[str] | None,
                  *, method: str | None, threshold: float | None, drift_share: float,
                  ) -> list[FeatureResult] | None:
    """`drift_native.dataset_drift` on two Parquet files, as `argoscope check drift` runs
    it (no declared types, no per-column settings), or None when this path declines."""
    try:
        import pyarrow as pa

        declines: tuple[type[BaseException], ...] = (Declined, *_DECLINE, pa.ArrowException)
    except ImportError:
        return None
    try:
        return _drift(Path(reference), Path(current), columns, method, threshold, drift_share)
    except declines:
        return None


def _drift(reference: Path, current: Path, columns: Sequence[str] | None,
           method: str | None, threshold: float | None, drift_share: float,
           ) -> list[FeatureResult]:
    if importlib.util.find_spec("bottleneck") is not None:
        raise Declined("pandas computes the std with bottleneck")
    for path in (reference, current):
        if not path.is_file() or path.suffix.lower() not in PARQUET_SUFFIXES:
            raise Declined(f"{path} is not a Parquet file")
    if method is not None and arguments.drift_method(method) != "wasserstein":
        raise Declined(f"method {method}")
    if threshold is not None:
        arguments.threshold(method, threshold)
    arguments.drift_share(drift_share)
    # scipy's import (its dot product) runs while the first columns are read and sorted.
    scipy_imported = threading.Thread(target=import_scipy_dot, daemon=True)
    scipy_imported.start()
    ref_columns, cur_columns = frame_columns(reference), frame_columns(current)
    chosen = _chosen(ref_columns, cur_columns, columns)
    files = _Files(reference, current)

    def one(column: str) -> FeatureResult:
        ref_file, cur_file = files.open()
        cur = _values(_read(cur_file, column))
        if cur.dtype.kind != "f" and len(np.unique(cur)) <= INTEGER_CARDINALITY_LIMIT:
            raise Declined(f"column {column!r} is categorical")  # `drift_columns.infer`
        ref = _values(_read(ref_file, column))
        scipy_imported.join()  # a first scipy import must not run in several threads
        return _feature(column, ref, cur, method, threshold)

    workers = min(len(chosen), os.cpu_count() or 1)
    try:
        if workers < 2:
            return [one(column) for column in chosen]
        # Each worker reads, converts, sorts and measures its columns: Arrow's decoding and
        # numpy's sorts release the GIL, and only a few columns are held at a time.
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            return list(pool.map(one, chosen))
        finally:  # a declined column drops the columns not started: the pandas path redoes all
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        files.close()


def _chosen(reference: ParquetColumns, current: ParquetColumns,
            columns: Sequence[str] | None) -> list[str]:
    """The columns `dataset_drift` would test, each a plain numeric column of both files."""
    if not (reference.rows and current.rows and reference.types and current.types):
        raise Declined("no rows")  # `read_table`: a frame with no rows or no columns
    if columns is None:
        if set(reference.types) != set(current.types):
            raise Declined("the files hold different columns")
        chosen = list(current.types)
    else:
        chosen = list(dict.fromkeys(columns))
        if not chosen or any(c not in reference.types or c not in current.types
                             for c in chosen):
            raise Declined("a named column is missing")
    for column in chosen:
        reference.numeric(column)
        current.numeric(column)
    return chosen


class _Files:
    """Each worker thread's own open Parquet files (one reader is not shared by threads)."""

    def __init__(self, reference: Path, current: Path) -> None:
        self._paths = (reference, current)
        self._local = threading.local()
        self._opened: list[pq.ParquetFile] = []
        self._lock = threading.Lock()

    def open(self) -> tuple[pq.ParquetFile, pq.ParquetFile]:
        """This thread's readers of the reference and current files."""
        import pyarrow.parquet as pq

        pair: tuple[pq.ParquetFile, pq.ParquetFile] | None = getattr(self._local, "pair", None)
        if pair is None:
            pair = (pq.ParquetFile(self._paths[0], memory_map=True),
                    pq.ParquetFile(self._paths[1], memory_map=True))
            self._local.pair = pair
            with self._lock:
                self._opened.extend(pair)
        return pair

    def close(self) -> None:
        """Close every reader opened."""
        for file in self._opened:
            file.close()


def _read(file: pq.ParquetFile, column: str) -> pa.ChunkedArray:
    """One column of a Parquet file (ParquetFile, not read_table: read_table goes through
    pyarrow.dataset, which imports pandas)."""
    return file.read(columns=[column], use_threads=False).column(0)
