"""JSON dumps read one object at a time, with ijson's C backend: the peak is one object.

A file is read twice. `survey` reads it through once without building anything and learns
what `stream` needs to know before the first object: the shape (a `List`'s `items`, a
top-level array, or one object; kubectl writes `"kind": "List"` after the `items`, so the shape
is known only at the end), the nesting depth, and whether ijson would read it exactly as the
standard decoders do. `stream` then yields the objects. Reading through first also keeps the
exporter's contract: a file that cannot be read fails before anything is applied or served.

What ijson reads differently or refuses, though `argoscope.exporter.objects.decode_json`
accepts it (integers outside +-(2**63 - 1), `NaN`, a lone surrogate escape, which ijson
turns into `?`), and every refusal, sends a file of up to `WHOLE_MAX_BYTES` to `decode_json`
whole, as before: the same objects, and the same error naming line and column. A larger file
is refused naming the byte offset (a lone surrogate there is read as `?`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import ijson

# The C backend explicitly: it is what the tests hold to the standard decoders' reading (the
# pure-Python one reads big integers and lone surrogates differently), and 5-10x faster.
try:
    _BACKEND: Any = ijson.get_backend("yajl2_c")
except ImportError:  # a platform without ijson's C wheel: slower, same shapes
    _BACKEND = ijson

# orjson's own nesting limit, which `decode_json` enforces on a file read whole.
MAX_DEPTH = 1024
# Files up to this size fall back to being read whole when ijson cannot read them exactly.
WHOLE_MAX_BYTES = 64 * 2**20
_BUFFER = 64 * 2**10
# Any surrogate escape: a cheap first look, before the exact one below.
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
# A surrogate escape not part of a pair (`\ud800` alone, or `\udc00` without its high half).
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_DEPTH_STEP = {"start_map": 1, "start_array": 1, "end_map": -1, "end_array": -1}
_CONTAINER = object()  # the value of a top-level `kind` that is an object or an array
_OVERLAP = 12  # bytes kept from one chunk to the next, so no escape pair is cut in two


class StreamRefused(ValueError):
    """The file cannot be streamed and is too big to read whole; says what and where."""


@dataclass(frozen=True)
class Plan:
    """How to read one JSON file: the ijson prefix of its objects, or None to read it whole."""

    prefix: str | None


class _CountingReader:
    """A binary file that counts the bytes read and notes lone surrogate escapes."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.offset = 0
        self.lone_surrogate = False
        self._tail = b""

    def read(self, size: int = -1) -> bytes:
        chunk = self.file.read(size)
        self.offset += len(chunk)
        if not self.lone_surrogate:
            window = self._tail + chunk[:_OVERLAP]
            if _SURROGATE.search(chunk) or _SURROGATE.search(window):
                self.lone_surrogate = _LONE_SURROGATE.search(self._tail + chunk) is not None
            self._tail = chunk[-_OVERLAP:] if len(chunk) >= _OVERLAP else window[-_OVERLAP:]
        return chunk


def _one_line(error: BaseException) -> str:
    """The error's message on one line (yajl's messages span three, sometimes as bytes)."""
    first = error.args[0] if error.args else ""
    text = first.decode("utf-8", "replace") if isinstance(first, bytes) else str(error)
    return " ".join(text.split())


def _whole_or_refused(size: int, reason: str, offset: int) -> Plan:
    if size <= WHOLE_MAX_BYTES:
        return Plan(None)
    raise StreamRefused(f"invalid JSON near byte {offset:,}: {reason}")


def survey(path: Path) -> Plan:
    """Read `path` through once, building nothing; how `stream` is to read it.

    StreamRefused for a file over `WHOLE_MAX_BYTES` that is not JSON ijson reads exactly.
    OSError when the file cannot be read.
    """
    size = path.stat().st_size
    depth = top_items = 0
    first: str | None = None
    kind: Any = None
    has_kind = items_is_array = False
    pending: str | None = None  # the top-level key whose value comes next: "kind" or "items"
    with path.open("rb") as raw:
        reader = _CountingReader(raw)
        try:
            # Lean on purpose: this loop sees every token of the dump.
            for event, value in _BACKEND.basic_parse(reader, use_float=True, buf_size=_BUFFER):
                step = _DEPTH_STEP.get(event)
                if step is not None:
                    if first is None:
                        first = event
                    if step < 0:
                        depth -= 1
                        continue
                    if depth == 1 and pending is not None:
                        if pending == "kind":
                            kind = _CONTAINER
                        else:
                            items_is_array = event == "start_array"
                        pending = None
                    depth += 1
                    if depth > MAX_DEPTH:
                        return _whole_or_refused(
                            size, f"nested deeper than {MAX_DEPTH} levels", reader.offset)
                elif depth == 1:
                    if event == "map_key":
                        pending = value if value in ("kind", "items") else None
                        # ijson names a top-level key "items.item" as it names the items.
                        top_items += 2 if value == "items.item" else value == "items"
                        has_kind = has_kind or value == "kind"
                    elif pending is not None:
                        if pending == "kind":
                            kind = value
                        else:
                            items_is_array = False
                        pending = None
                elif first is None:
                    first = event  # a lone scalar
        except (ijson.JSONError, ValueError) as error:  # UnicodeDecodeError too
            return _whole_or_refused(size, _one_line(error), reader.offset)
    if reader.lone_surrogate and size <= WHOLE_MAX_BYTES:
        return Plan(None)
    if first == "start_array":
        return Plan("item")
    if first == "start_map" and top_items > 1:
        # The last `items` is the one that counts, and a key "items.item" is no item;
        # streaming would read them all.
        return _whole_or_refused(size, "the key 'items' twice, or a key 'items.item'",
                                 reader.offset)
    is_list = not has_kind or (isinstance(kind, str) and kind.endswith("List"))
    if first == "start_map" and top_items == 1 and items_is_array and is_list:
        return Plan("items.item")
    return Plan("")


def stream(path: Path, plan: Plan) -> Iterator[Any]:
    """The values under `plan.prefix` in `path`, one at a time (a plan that reads whole is the
    caller's). StreamRefused naming the byte offset if the file no longer parses."""
    assert plan.prefix is not None
    with path.open("rb") as raw:
        reader = _CountingReader(raw)
        try:
            yield from _BACKEND.items(reader, plan.prefix, use_float=True, buf_size=_BUFFER)
        except (ijson.JSONError, ValueError) as error:
            raise StreamRefused(
                f"invalid JSON near byte {reader.offset:,}: {_one_line(error)}") from None
