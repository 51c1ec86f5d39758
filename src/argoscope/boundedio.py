"""Bounded reads of files argoscope did not write itself: never a whole file up front, never a
wait on a FIFO. Standard library only, so every layer (the local runner's step files, the
reports' documents, the exporter's local source) reads through the same two functions.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

# How much is held at once when a file is read chunk by chunk (a pipe, a streamed log).
STREAM_CHUNK = 64 * 1024


def open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading when it is a regular file; OSError otherwise.

    A step can leave a FIFO (or a device) where its output or log should be: opening one
    for reading would wait for a writer that never comes, so nothing but a regular file is
    read, and opening never blocks."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_at_most(path: Path, limit: int, *, regular_only: bool = True) -> bytes:
    """The file's first `limit + 1` bytes at most, so a caller can tell one over `limit`;
    raises OSError when it cannot be read (or, `regular_only`, is not a regular file).

    `read(limit + 1)` alone would allocate the whole `limit` up front however small the file
    (32 MiB for every Workflow object read): a regular file costs what it holds, anything
    else (a pipe a person named, when not `regular_only`) what arrives, chunk by chunk."""
    with open_regular(path) if regular_only else path.open("rb") as handle:
        info = os.fstat(handle.fileno())
        if stat.S_ISREG(info.st_mode):
            return handle.read(min(info.st_size, limit) + 1)
        chunks: list[bytes] = []
        held = 0
        while held <= limit:
            chunk = handle.read(min(STREAM_CHUNK, limit + 1 - held))
            if not chunk:
                break
            chunks.append(chunk)
            held += len(chunk)
        return b"".join(chunks)
