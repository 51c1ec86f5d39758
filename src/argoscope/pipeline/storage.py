"""Where the steps keep their data inside the shared data directory, and how they read it.

Steps hand data to each other through one directory (a volume on a cluster, a directory of
the local runner's state otherwise). Frames are Parquet; small documents are JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

TARGET = "target"
RAW = "raw"
CLEAN = "clean"
FEATURES = "features"
MODEL = "model"


class StepInputError(Exception):
    """A step's input is missing or unusable (named in the message)."""


def frame_path(data_dir: Path, stage: str, split: str) -> Path:
    """The Parquet file of one split (`reference` or `current`) at one stage."""
    return data_dir / stage / f"{split}.parquet"


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame as Parquet, atomically (a retried step never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    frame.to_parquet(partial, index=False)
    partial.replace(path)


def read_frame(path: Path) -> pd.DataFrame:
    """Read a Parquet frame an earlier step wrote; a clear error when it is not there."""
    import pandas as pd

    if not path.is_file():
        raise StepInputError(f"{path}: missing (did the step that writes it run?)")
    return pd.read_parquet(path, use_threads=False)  # no pool to tear down at exit (apache/arrow#34314)


def write_json(document: Any, path: Path) -> None:
    """Write a JSON document atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, path)


def read_json(path: Path) -> Any:
    """Read a JSON document an earlier step wrote."""
    if not path.is_file():
        raise StepInputError(f"{path}: missing (did the step that writes it run?)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise StepInputError(f"{path}: not valid JSON ({error})") from error


def file_hash(*paths: Path) -> str:
    """`sha256:` of the files' bytes, in order: the data a model was trained on."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return "sha256:" + digest.hexdigest()
