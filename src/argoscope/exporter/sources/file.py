"""`--source file:PATH`: a file or a directory of JSON or YAML objects, read one at a time.

Accepted: a `List` (what `kubectl get workflows,pods -o json|yaml` prints), single objects,
JSON arrays and multi-document YAML. Every file is read through once before anything is
applied (a missing path or an unparsable file is a `SourceError` naming the file, the reason
and the position), then streamed to the model: one object is held at a time, never the whole
dump (JSON with ijson, `sources.jsonstream`; YAML with `argoscope.yamlsafe`'s streaming reader).
An object of another kind is skipped and counted.
"""

from __future__ import annotations

import codecs
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from argoscope.exporter.model import Model
from argoscope.exporter.objects import decode_json
from argoscope.exporter.sources import SourceError, jsonstream
from argoscope.yamlsafe import YamlRefused, stream_objects, survey_stream

SUFFIXES = (".json", ".yaml", ".yml")

log = logging.getLogger("argoscope.exporter")

# Reads one surveyed file again, yielding its objects one at a time.
Reader = Callable[[], Iterator[Any]]


def _files(path: Path) -> list[Path]:
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def _is_list(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("items"), list) and (
        str(value.get("kind", "")).endswith("List") or "kind" not in value)


def _flatten(document: Any) -> Iterator[Any]:
    """The objects of a document: arrays and `List`s opened, at any depth, in order.

    Iterative, so nesting costs no Python recursion.
    """
    stack: list[Iterator[Any]] = [iter((document,))]
    while stack:
        for value in stack[-1]:
            if value is None:
                continue
            if isinstance(value, list):
                stack.append(iter(value))
                break
            if _is_list(value):
                stack.append(iter(value["items"]))
                break
            yield value
        else:
            stack.pop()


def _read_whole_json(file: Path) -> Iterator[Any]:
    """A JSON file decoded at once, as before streaming (what ijson cannot read exactly)."""
    try:
        content = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SourceError(f"{file}: cannot be read: {error}") from error
    try:
        document = decode_json(content)
    except RecursionError:
        raise SourceError(f"{file}: invalid JSON: nested too deep") from None
    except ValueError as error:
        raise SourceError(f"{file}: invalid JSON: {error}") from error
    return _flatten(document)


def _plan_json(file: Path) -> Reader:
    try:
        plan = jsonstream.survey(file)
    except jsonstream.StreamRefused as error:
        raise SourceError(f"{file}: {error}") from None
    except OSError as error:
        raise SourceError(f"{file}: cannot be read: {error}") from error
    if plan.prefix is None:
        # Small and odd (or refused): read whole, so it reads, or fails, exactly as before.
        list(_read_whole_json(file))
        return lambda: _read_whole_json(file)

    def read() -> Iterator[Any]:
        try:
            for value in jsonstream.stream(file, plan):
                yield from _flatten(value)
        except jsonstream.StreamRefused as error:
            raise SourceError(f"{file}: {error}") from None
        except OSError as error:
            raise SourceError(f"{file}: cannot be read: {error}") from error

    return read


def _utf8_error(file: Path, error: UnicodeDecodeError) -> str:
    """`error` as decoding the whole file names it: the position in the file, not in the
    chunk being decoded when it was found (the file is decoded again, a chunk at a time)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with file.open("rb") as raw:
        while True:
            chunk = raw.read(2**16)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as found:
                start, end = offset - pending + found.start, offset - pending + found.end
                if end - start == 1:
                    where = f"byte 0x{found.object[found.start]:02x} in position {start}"
                else:
                    where = f"bytes in position {start}-{end - 1}"
                return f"'utf-8' codec can't decode {where}: {found.reason}"
            if not chunk:
                return str(error)
            offset += len(chunk)


def _yaml_refused(file: Path, error: Exception) -> SourceError:
    if isinstance(error, YamlRefused):
        return SourceError(str(error))
    if isinstance(error, UnicodeDecodeError):
        return SourceError(f"{file}: cannot be read: {_utf8_error(file, error)}")
    return SourceError(f"{file}: cannot be read: {error}")


def _plan_yaml(file: Path) -> Reader:
    try:
        with file.open(encoding="utf-8") as text:
            lists = survey_stream(text, str(file))
    except (YamlRefused, OSError, UnicodeDecodeError) as error:
        raise _yaml_refused(file, error) from None

    def read() -> Iterator[Any]:
        try:
            with file.open(encoding="utf-8") as text:
                for value in stream_objects(text, str(file), lists):
                    yield from _flatten(value)
        except (YamlRefused, OSError, UnicodeDecodeError) as error:
            raise _yaml_refused(file, error) from None

    return read


def plan_files(path: Path) -> list[Reader]:
    """Read every file in `path` (a file or a directory) through once, one object at a time;
    a reader per file that streams its objects. SourceError for a path that cannot work."""
    return [_plan_json(file) if file.suffix.lower() == ".json" else _plan_yaml(file)
            for file in _files(path)]


def iter_objects(path: Path) -> Iterator[Any]:
    """Every object in `path`, in file order, one at a time (after every file is read
    through, so a bad file fails before the first object)."""
    for read in plan_files(path):
        yield from read()


def read_objects(path: Path) -> list[Any]:
    """Every object in `path` (a file or a directory), in file order, as a list."""
    return list(iter_objects(path))


class FileSource:
    """Objects from files; read through once to fail fast, then streamed to the model."""

    def __init__(self, model: Model, path: Path) -> None:
        self.name = "file"
        self.model = model
        self.path = path
        model.stats.expect_source(self.name)
        # Fail fast, before serving, on a path that cannot work; a dump does not change, so
        # what the survey learnt holds for every snapshot.
        self._readers = plan_files(path)

    def snapshot(self) -> None:
        """Apply every object, one at a time, counting every finished run and step once."""
        for read in self._readers:
            for obj in read():
                self.model.apply_object(obj)
        # A dump is all there is: no pod is still to come for an attempt that waits for one.
        self.model.settle()
        self.model.stats.source_ready(self.name)

    def run(self, stop: threading.Event) -> None:
        """Load the snapshot, then serve it until stopped."""
        try:
            self.snapshot()
        except SourceError as error:
            # The dump changed after it was read through. A restart would apply what was
            # applied again (every finished run counted twice): stay not ready, say why.
            log.error("file source: %s; serving what was read before, not ready", error)
        stop.wait()
