"""Writing a file so readers never see half of it, and nothing is left behind on failure.

The text goes to `<name>.partial` beside the target, which then replaces the target. A target
that is a directory is refused before anything is written; a write that fails removes its
partial file. Used by the checks document, the gate files and the HTML reports.
"""

from __future__ import annotations

import errno
from pathlib import Path


def write_text(path: Path, text: str) -> Path:
    """Write `text` to `path` atomically; OSError (naming `path`) when it cannot be."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file to write", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
    return path
