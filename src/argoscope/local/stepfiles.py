"""Bounded reads of the files a step leaves: output parameters, stdout and stderr.

A step can write a file of any size. The runner keeps output parameters in the Workflow object
and `get`, `logs`, the failure summary and the reports read the logs back, so none of them
reads a whole file: an output parameter keeps at most Argo's 256 kB (its last 256 kB, as Argo's
executor keeps of an output that is too large), a log is read as its tail or streamed in fixed
chunks. Memory never grows with what a step wrote.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from argoscope.boundedio import STREAM_CHUNK, open_regular

# Argo's executor: `maxAnnotationSize = 256 * (1 << 10)`, the most of an output it saves.
OUTPUT_LIMIT = 256 * 1024
# What `get` and the failure summary read of a log to show its last lines.
LOG_TAIL_LIMIT = 64 * 1024
# A UTF-8 character is at most 4 bytes: a cut start skips at most 3 continuation bytes.
_MAX_CONTINUATION = 3


def output_too_large(what: str) -> str:
    """The node message for an output cut to OUTPUT_LIMIT (Argo's executor's words)."""
    return (f"{what} is larger than the maximum allowed size of 256 kB, "
            "only the last 256 kB were saved")


@dataclass(frozen=True, slots=True)
class OutputValue:
    """An output parameter's value as saved, and whether it was cut to OUTPUT_LIMIT."""

    value: str
    cut: bool


def _content_end(handle: BinaryIO, size: int) -> int:
    """The offset just past the last byte that is not a newline (trailing newlines are
    trimmed from an output, as the runner always did), read backwards in fixed chunks."""
    end = size
    while end > 0:
        start = max(0, end - STREAM_CHUNK)
        handle.seek(start)
        chunk = handle.read(end - start)
        kept = chunk.rstrip(b"\n")
        if kept:
            return start + len(kept)
        end = start
    return 0


def _char_start(data: bytes) -> bytes:
    """`data` from its first whole UTF-8 character (a cut can land inside one)."""
    skip = 0
    while skip < min(len(data), _MAX_CONTINUATION) and 0x80 <= data[skip] <= 0xBF:
        skip += 1
    return data[skip:]


def read_output(path: Path, limit: int = OUTPUT_LIMIT) -> OutputValue:
    """An output parameter's file: trailing newlines trimmed, at most its last `limit` bytes.

    Raises OSError when it cannot be read and UnicodeDecodeError when it is not UTF-8 (the
    caller falls back to the parameter's default, as for a missing file)."""
    with open_regular(path) as handle:
        size = handle.seek(0, os.SEEK_END)
        end = _content_end(handle, size)
        start = max(0, end - limit)
        handle.seek(start)
        data = handle.read(end - start)
    if start == 0:
        return OutputValue(data.decode("utf-8"), cut=False)
    return OutputValue(_char_start(data).decode("utf-8"), cut=True)


def read_tail(path: Path, limit: int = LOG_TAIL_LIMIT) -> bytes:
    """The last `limit` bytes of a file (a log); raises OSError when it cannot be read."""
    with open_regular(path) as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - limit))
        return handle.read(limit)


def read_tail_text(path: Path, limit: int = LOG_TAIL_LIMIT) -> str:
    """`read_tail` decoded leniently, from its first whole character."""
    data = read_tail(path, limit)
    return _char_start(data).decode("utf-8", "replace")


def stream_text(path: Path, chunk: int = STREAM_CHUNK) -> Iterator[str]:
    """The whole file as text, `chunk` bytes at a time (a character split between two
    chunks is decoded whole); raises OSError when it cannot be opened."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with open_regular(path) as handle:
        while True:
            data = handle.read(chunk)
            if not data:
                break
            text = decoder.decode(data)
            if text:
                yield text
    rest = decoder.decode(b"", final=True)
    if rest:
        yield rest
