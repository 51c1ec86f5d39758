"""`--source local:DIR`: the local runner's state directory, followed live.

The runner writes `DIR/workflows/<name>.json` (Workflow objects) and `DIR/pods/<name>.json`
(Pod objects), each replaced atomically. This source polls both folders: a new file is
ADDED, a changed one (inode, size or mtime) MODIFIED, a vanished one DELETED. Pods are
applied before workflows in each pass so a failed step's pod is known when it is counted.
Counting follows the Kubernetes source: what is already finished at the first pass of a live
follow is history (`replay=True`); a snapshot (`--once`) counts everything once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argoscope.boundedio import read_at_most
from argoscope.exporter.model import PODS, WORKFLOWS, Model
from argoscope.exporter.objects import decode_json
from argoscope.exporter.sources import SourceError

FOLDERS = ((PODS, "pods"), (WORKFLOWS, "workflows"))
DEFAULT_POLL_SECONDS = 0.5


@dataclass
class _Seen:
    signature: tuple[int, int, int]
    # What a DELETED event needs: the last readable object's identity.
    stub: Mapping[str, Any] | None


class LocalSource:
    """Workflow and Pod objects from a local runner state directory."""

    def __init__(self, model: Model, state_dir: Path,
                 poll_seconds: float = DEFAULT_POLL_SECONDS) -> None:
        self.name = "local"
        self.model = model
        self.state_dir = state_dir
        self.poll_seconds = poll_seconds
        if state_dir.exists() and not state_dir.is_dir():
            raise SourceError(f"{state_dir}: not a directory")
        self._seen: dict[str, dict[str, _Seen]] = {resource: {} for resource, _ in FOLDERS}
        model.stats.expect_source(self.name)

    def snapshot(self) -> None:
        """Apply every object once, counting every finished run and step."""
        if not self.state_dir.is_dir():
            raise SourceError(f"{self.state_dir}: no such directory")
        self.poll(replay=False)
        self.model.settle()  # a snapshot is all there is: no pod is still to come
        self.model.stats.source_ready(self.name)

    def run(self, stop: threading.Event) -> None:
        """Follow the directory until `stop` is set; the first pass is history."""
        first = True
        while not stop.is_set():
            try:
                self.poll(replay=first)
            except OSError as error:  # a vanished or unreadable folder: try again later
                self.model.stats.log_once(("local", "poll"), "cannot read %s: %s",
                                          self.state_dir, error)
            if first:
                self.model.stats.source_ready(self.name)
                first = False
            stop.wait(self.poll_seconds)

    def poll(self, *, replay: bool) -> None:
        """One pass over both folders: apply what was added, changed or deleted."""
        for resource, folder in FOLDERS:
            self._poll_folder(resource, self.state_dir / folder, replay)

    def _poll_folder(self, resource: str, folder: Path, replay: bool) -> None:
        seen = self._seen[resource]
        current: dict[str, tuple[int, int, int]] = {}
        if folder.is_dir():
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith(".") or not entry.name.endswith(".json"):
                        continue
                    try:
                        stat = entry.stat()
                    except FileNotFoundError:
                        continue
                    current[entry.name] = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        for name in sorted(current):
            signature = current[name]
            known = seen.get(name)
            if known is not None and known.signature == signature:
                continue
            obj = self._read(resource, folder / name)
            if obj is None:
                seen[name] = _Seen(signature, known.stub if known else None)
                continue
            event = "ADDED" if known is None or known.stub is None else "MODIFIED"
            self.model.apply(resource, event, obj, replay=replay)
            seen[name] = _Seen(signature, _stub(obj))
        for name in [n for n in seen if n not in current]:
            gone = seen.pop(name)
            if gone.stub is not None:
                self.model.apply(resource, "DELETED", gone.stub)

    def _read(self, resource: str, path: Path) -> Any:
        try:  # a FIFO left in the state directory is refused, never waited on
            data = read_at_most(path, MAX_OBJECT_BYTES)
        except FileNotFoundError:
            return None
        except OSError as error:  # unreadable, or not a regular file
            self.model.stats.skip(resource, "malformed", f"{path}: {error}")
            return None
        if len(data) > MAX_OBJECT_BYTES:
            self.model.stats.skip(resource, "too_large",
                                  f"{path}: over the {MAX_OBJECT_BYTES:,}-byte limit")
            return None
        try:
            return decode_json(data)
        except ValueError as error:  # not JSON, or nested too deep
            self.model.stats.skip(resource, "malformed", f"{path}: {error}")
            return None


# One object file at most: the runner's own Workflow objects stay below its 32 MiB limit.
MAX_OBJECT_BYTES = 32 * 1024 * 1024


def _stub(obj: Any) -> Mapping[str, Any] | None:
    """The identity of an object, enough for the model to delete it."""
    if not isinstance(obj, Mapping):
        return None
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        return None
    return {"kind": obj.get("kind"),
            "metadata": {key: meta[key] for key in ("name", "namespace", "uid", "labels",
                                                    "annotations") if key in meta}}
