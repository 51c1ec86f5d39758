"""`--source file:PATH`: a file or a directory of JSON or YAML objects.

Accepted: a `List` (what `kubectl get workflows,pods -o yaml` prints), single objects, JSON
arrays and multi-document YAML. A missing path or an unparsable file is a `SourceError`
naming the file and the reason; an object of another kind is skipped and counted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from argoscope.exporter.model import Model
from argoscope.exporter.objects import decode_json
from argoscope.exporter.sources import SourceError
from argoscope.yamlsafe import YamlRefused, load_all

SUFFIXES = (".json", ".yaml", ".yml")


def _files(path: Path) -> list[Path]:
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def _flatten(document: Any) -> Iterator[Any]:
    if document is None:
        return
    if isinstance(document, list):
        for item in document:
            yield from _flatten(item)
    elif isinstance(document, Mapping) and isinstance(document.get("items"), list) and (
        str(document.get("kind", "")).endswith("List") or "kind" not in document
    ):
        for item in document["items"]:
            yield from _flatten(item)
    else:
        yield document


def load_yaml(content: str, where: str) -> list[Any]:
    """Every document of a YAML text, aliases bounded (`argoscope.yamlsafe`); SourceError
    for invalid YAML or an alias bomb."""
    try:
        return load_all(content, where)
    except YamlRefused as error:
        raise SourceError(str(error)) from None


def read_objects(path: Path) -> list[Any]:
    """Every object in `path` (a file or a directory), in file order."""
    objects: list[Any] = []
    for file in _files(path):
        try:
            content = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SourceError(f"{file}: cannot be read: {error}") from error
        is_json = file.suffix.lower() == ".json"
        kind = "JSON" if is_json else "YAML"
        try:
            documents: list[Any] = (
                [decode_json(content)] if is_json else load_yaml(content, str(file)))
            for document in documents:
                objects.extend(_flatten(document))
        except RecursionError:
            raise SourceError(f"{file}: invalid {kind}: nested too deep") from None
        except (ValueError, yaml.YAMLError) as error:
            raise SourceError(f"{file}: invalid {kind}: {error}") from error
    return objects


class FileSource:
    """Objects from files; read once, since a dump does not change."""

    def __init__(self, model: Model, path: Path) -> None:
        self.name = "file"
        self.model = model
        self.path = path
        model.stats.expect_source(self.name)
        # Fail fast, before serving, on a path that cannot work.
        self._objects: list[Any] | None = read_objects(path)

    def snapshot(self) -> None:
        """Apply every object, counting every finished run and step once."""
        objects = self._objects if self._objects is not None else read_objects(self.path)
        self._objects = None
        for obj in objects:
            self.model.apply_object(obj)
        # A dump is all there is: no pod is still to come for an attempt that waits for one.
        self.model.settle()
        self.model.stats.source_ready(self.name)

    def run(self, stop: threading.Event) -> None:
        """Load the snapshot, then serve it until stopped."""
        self.snapshot()
        stop.wait()
