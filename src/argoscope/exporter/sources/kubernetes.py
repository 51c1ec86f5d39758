"""`--source kubernetes`: list, then watch, Workflows and step Pods through the Kubernetes API.

Built on the maintained `kubernetes` client: its configuration loaders (in-cluster, else a
kubeconfig), its API classes (`CustomObjectsApi` for `workflows.argoproj.io/v1alpha1`,
`CoreV1Api` for pods labelled `workflows.argoproj.io/workflow`) and its `Watch`. Objects stay
plain dicts (`_preload_content=False`, the watch's raw object): typed models would cost more
than the whole model at 200k pods.

How the counting rules of DESIGN.md hold across watch restarts:

- the first list of a live source is history (`replay=True`); later events count;
- a watch that ends or drops resumes from the last resourceVersion seen (objects or
  bookmarks), so nothing is delivered twice and nothing is missed;
- `410 Gone` (the server forgot that resourceVersion) re-lists and hands the list to
  `Model.resync`, which forgets objects deleted meanwhile; the model's per-object "counted"
  flags keep a re-listed finished run from counting again, and a run that finished while the
  watch was away counts once, now.

Every resource (workflows, pods) is a group of streams, one per watched namespace (or one for
all namespaces). A re-list covers the whole group, since `Model.resync` forgets objects per
resource; a generation number makes every stream of the group drop events from a watch that
began before the re-list and resume from the list's resourceVersion instead.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import urllib3
from kubernetes import client, watch

from argoscope.exporter import kubeclient
from argoscope.exporter.model import PODS, WORKFLOWS, Model
from argoscope.exporter.objects import WORKFLOW_LABEL, decode_json, mapping, text
from argoscope.exporter.sources import SourceError

log = logging.getLogger("argoscope.exporter")

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "workflows"
WATCHED_EVENTS = frozenset({"ADDED", "MODIFIED", "DELETED"})
MALFORMED = "MALFORMED"
# A watch line (one event: one object) longer than this is skipped, counted, never buffered
# whole. etcd refuses objects over 1.5 MiB by default, so no real event comes near it.
DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
# A stream that receives only unusable data (undecodable or oversized lines) for this long is
# down: the source is not "up" while it delivers nothing the model can use.
DEFAULT_UNUSABLE_GRACE_SECONDS = 30.0
# Errors of the connection itself (not an API answer): broken streams, timeouts, refusals.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.HTTPError, ConnectionError, TimeoutError, OSError)


class _RawWatch(watch.Watch):
    """The client's `Watch`, yielding events with the raw object only (no typed model), from
    lines of bounded size.

    Events are decoded with orjson: faster, and its bounded depth turns a pathologically
    nested object into one malformed event (counted and skipped) instead of a RecursionError
    that would end the watch and replay the same event forever. Lines are cut at
    `max_line_bytes` (the client's own reader buffers a line without limit): an oversized
    line is skipped to its end, reported to `on_oversized` once and to `on_skipping` for each
    piece of it that arrives, so a line that never ends costs no memory.
    """

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
                 on_oversized: Callable[[], None] | None = None,
                 on_skipping: Callable[[], None] | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.max_line_bytes = max_line_bytes
        self._on_oversized = on_oversized or (lambda: None)
        self._on_skipping = on_skipping or (lambda: None)

    def get_return_type(self, func: Callable[..., Any]) -> None:
        return None

    def unmarshal_event(self, data: Any, return_type: Any) -> Any:
        if not data or data.isspace():
            return None
        try:
            event = decode_json(data)
        except ValueError as error:
            return {"type": MALFORMED, "raw_object": None, "error": str(error)}
        if not isinstance(event, dict):
            return {"type": MALFORMED, "raw_object": None, "error": "not an object"}
        event.setdefault("type", "")
        event["raw_object"] = event.get("object")
        return event

    def stream(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
        """One watch request: its events until the server ends it or `stop()` is called.

        The client's own `stream` with its line reader replaced by a bounded one; no retry
        (the source decides when and how to watch again). An ERROR event raises
        ApiException with its code (410 Gone included), as the client does.
        """
        self._stop = False
        kwargs["watch"] = True
        kwargs["_preload_content"] = False
        response = func(*args, **kwargs)
        self._resp = response
        try:
            status = getattr(response, "status", None)
            if isinstance(status, int) and not 200 <= status <= 299:
                self._api_client.response_deserialize(response, {})
            for line in bounded_lines(response.stream(amt=None, decode_content=False),
                                      self.max_line_bytes, self._on_oversized,
                                      self._on_skipping):
                event = self.unmarshal_event(line, None)
                if event is None:
                    continue
                if event.get("type") == "ERROR":
                    error = event["raw_object"]
                    raise client.ApiException(status=error["code"],
                                              reason=f"{error.get('reason')}: "
                                                     f"{error.get('message')}")
                yield event
                if self._stop:
                    return
        finally:
            response.close()
            response.release_conn()
            self._resp = None


def bounded_lines(segments: Iterable[bytes | str], max_bytes: int,
                  on_oversized: Callable[[], None], on_skipping: Callable[[], None]
                  ) -> Iterator[str]:
    """Newline-separated lines of a byte stream, none longer than `max_bytes`.

    A longer line is dropped as it arrives (never buffered past the cap): `on_oversized` is
    called once when it passes the cap, `on_skipping` for every later piece of it, until its
    newline.
    """
    buffer = bytearray()
    skipping = False
    for segment in segments:
        piece = segment.encode("utf-8") if isinstance(segment, str) else segment
        start = 0
        while True:
            end = piece.find(b"\n", start)
            if end < 0:
                if skipping:
                    on_skipping()
                else:
                    buffer += piece[start:]
                    if len(buffer) > max_bytes:
                        buffer = bytearray()
                        skipping = True
                        on_oversized()
                break
            if skipping:
                skipping = False  # the end of the oversized line: dropped with it
            elif len(buffer) + end - start > max_bytes:
                on_oversized()
            else:
                buffer += piece[start:end]
                yield buffer.decode("utf-8", errors="replace")
            buffer = bytearray()
            start = end + 1


@dataclass
class _Stream:
    """One list-and-watch target: a resource in one namespace, or in all (`namespace=None`)."""

    resource: str
    namespace: str | None
    resource_version: str = ""
    watch: _RawWatch | None = None
    # When the stream last gave something usable (an accepted watch, a decodable event).
    last_usable: float = field(default_factory=time.monotonic)
    unusable: bool = False  # down for having given nothing usable past the grace

    def where(self) -> str:
        return f"{self.resource} in {self.namespace or 'all namespaces'}"


@dataclass
class _Group:
    """Every stream of one resource, re-listed together (see the module docstring)."""

    resource: str
    streams: list[_Stream]
    lock: threading.Lock = field(default_factory=threading.Lock)
    generation: int = 0


class KubernetesSource:
    """Workflows and their pods, listed then watched through the Kubernetes API."""

    def __init__(
        self,
        model: Model,
        namespaces: list[str] | tuple[str, ...] = (),
        kubeconfig: str | None = None,
        context: str | None = None,
        *,
        watch_timeout_seconds: int = 300,
        page_size: int = 500,
        backoff_seconds: float = 0.5,
        backoff_max_seconds: float = 30.0,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        unusable_grace_seconds: float = DEFAULT_UNUSABLE_GRACE_SECONDS,
    ) -> None:
        self.name = "kubernetes"
        self.model = model
        self.watch_timeout_seconds = watch_timeout_seconds
        self.page_size = page_size
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.max_line_bytes = max_line_bytes
        self.unusable_grace_seconds = unusable_grace_seconds
        api_client = kubeclient.api_client(kubeconfig, context)
        self._core = client.CoreV1Api(api_client)
        self._custom = client.CustomObjectsApi(api_client)
        scopes: list[str | None] = list(dict.fromkeys(namespaces)) or [None]
        # Pods first: a step that failed is counted with its pod's reason when the pod is known.
        self._groups = [_Group(resource, [_Stream(resource, ns) for ns in scopes])
                        for resource in (PODS, WORKFLOWS)]
        # Lists and streams failing right now: the source is down while any is.
        self._failing: set[tuple[str, ...]] = set()
        self._health_lock = threading.Lock()
        model.stats.expect_source(self.name)

    # --- the Source protocol ---------------------------------------------------------------

    def snapshot(self) -> None:
        """List everything once, counting every finished object (`--once`)."""
        for group in self._groups:
            try:
                self._relist(group, replay=False)
            except ApiFailure as failure:
                raise SourceError(f"kubernetes: cannot list {failure}") from failure
        self.model.stats.source_ready(self.name)

    def run(self, stop: threading.Event) -> None:
        """List (as history), then watch every stream until `stop` is set; never raises."""
        for group in self._groups:
            failures = 0
            while not stop.is_set():
                try:
                    self._relist(group, replay=True)
                    break
                except ApiFailure as failure:
                    failures += 1
                    self._log_failure("list", failure)
                    self._stream_health(("list", group.resource), False)
                    stop.wait(self._backoff(failures))
            self._stream_health(("list", group.resource), True)
        if stop.is_set():
            return
        self.model.stats.source_ready(self.name)
        threads = [
            threading.Thread(target=self._follow, args=(group, stream, stop), daemon=True,
                             name=f"watch-{stream.resource}-{stream.namespace or 'all'}")
            for group in self._groups for stream in group.streams
        ]
        for thread in threads:
            thread.start()
        stop.wait()
        for group in self._groups:
            for stream in group.streams:
                current = stream.watch
                if current is not None:
                    # Unblocks a read waiting on a quiet stream.
                    current.stop()  # type: ignore[no-untyped-call]
        for thread in threads:
            thread.join(timeout=5)

    # --- listing ---------------------------------------------------------------------------

    def _relist(self, group: _Group, *, replay: bool, unless_past: int | None = None) -> None:
        """List every stream of `group` and resync the model with the union.

        With `unless_past`, do nothing if the group was re-listed since that generation (two
        streams hit by the same `410 Gone` re-list once).
        """
        with group.lock:
            if unless_past is not None and group.generation != unless_past:
                return
            items = (item for stream in group.streams for item in self._pages(stream))
            self.model.resync(group.resource, items, replay=replay, origin=self.name)
            group.generation += 1

    def _pages(self, stream: _Stream) -> Iterator[Any]:
        """The stream's objects, page by page; sets its resourceVersion from the first page."""
        func, args, kwargs = self._endpoint(stream)
        token = ""
        first = True
        while True:
            page_args = dict(kwargs, limit=self.page_size, _preload_content=False)
            if token:
                page_args["_continue"] = token
            try:
                response = func(*args, **page_args)
                body = decode_json(response.data)
            except client.ApiException as error:
                raise ApiFailure(stream, error.status or 0, error.reason or "") from error
            except CONNECTION_ERRORS as error:
                raise ApiFailure(stream, 0, str(error)) from error
            except ValueError as error:
                raise ApiFailure(stream, 0, f"invalid JSON in list: {error}") from error
            meta = mapping(mapping(body).get("metadata"))
            if first:
                stream.resource_version = text(meta.get("resourceVersion"))
                first = False
            items = mapping(body).get("items")
            if isinstance(items, list):
                yield from items
            token = text(meta.get("continue"))
            if not token:
                return

    def _endpoint(self, stream: _Stream
                  ) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
        """The client method, positional arguments and keywords that list `stream`."""
        if stream.resource == WORKFLOWS:
            if stream.namespace is None:
                return self._custom.list_cluster_custom_object, (GROUP, VERSION, PLURAL), {}
            return (self._custom.list_namespaced_custom_object,
                    (GROUP, VERSION, stream.namespace, PLURAL), {})
        # Existence selector: every pod Argo created for a workflow, whatever the workflow.
        selector = {"label_selector": WORKFLOW_LABEL}
        if stream.namespace is None:
            return self._core.list_pod_for_all_namespaces, (), selector
        return self._core.list_namespaced_pod, (stream.namespace,), selector

    # --- watching --------------------------------------------------------------------------

    def _stream_health(self, key: tuple[str, ...], ok: bool) -> None:
        with self._health_lock:
            if ok:
                self._failing.discard(key)
            else:
                self._failing.add(key)
            up = not self._failing
        self.model.stats.source_up(self.name, up)

    def _follow(self, group: _Group, stream: _Stream, stop: threading.Event) -> None:
        """Watch one stream until `stop`, resuming, re-listing and backing off as needed.

        Whatever one watch does (an exception nobody foresaw included), the stream is tried
        again after a jittered delay: short after a watch that lasted, growing exponentially
        while watches keep ending early, whatever the reason (refused, dropped, closed at
        once, 410 Gone every time), so a server that fails every watch at once is never
        hammered. While watches fail the source is down.
        """
        failures = 0
        key = ("watch", stream.resource, stream.namespace or "")
        while not stop.is_set():
            generation = group.generation
            began = time.monotonic()
            try:
                reason = self._watch_once(group, stream, generation, stop)
            except Exception as error:  # a bug must not end this stream for good
                self.model.stats.log_once(
                    ("kubernetes", "crash", stream.resource),
                    "kubernetes: watch of %s failed unexpectedly (%s: %s); retrying with "
                    "backoff", stream.where(), type(error).__name__, error)
                reason = "crash"
            if stop.is_set():
                return
            if reason == "stale":
                continue  # another stream re-listed the group: resume from the new list
            self.model.stats.watch_restart(stream.resource, reason)
            lasted = time.monotonic() - began >= self.backoff_max_seconds
            failures = 0 if lasted and reason not in ("error", "crash") else failures + 1
            if reason in ("error", "crash"):
                self._stream_health(key, False)
            if reason == "expired":
                self._relist_after_gone(group, stream, generation, stop)
            stop.wait(self._backoff(failures) if failures
                      else random.uniform(0, self.backoff_seconds))

    def _relist_after_gone(self, group: _Group, stream: _Stream, generation: int,
                           stop: threading.Event) -> None:
        """Re-list the group after `410 Gone`, unless another stream already did."""
        failures = 0
        while not stop.is_set() and group.generation == generation:
            try:
                self._relist(group, replay=False, unless_past=generation)
                self._stream_health(("list", group.resource), True)
                return
            except ApiFailure as failure:
                failures += 1
                self._log_failure("list", failure)
                self._stream_health(("list", group.resource), False)
                stop.wait(self._backoff(failures))

    def _usable(self, stream: _Stream) -> None:
        """The stream gave something the model can use: it is healthy."""
        stream.last_usable = time.monotonic()
        if stream.unusable:  # checked first: this runs for every event
            stream.unusable = False
            self._stream_health(("usable", stream.resource, stream.namespace or ""), True)

    def _unusable(self, stream: _Stream) -> None:
        """The stream gave something unusable: down once that has lasted past the grace."""
        if (not stream.unusable
                and time.monotonic() - stream.last_usable >= self.unusable_grace_seconds):
            stream.unusable = True
            self.model.stats.log_once(
                ("kubernetes", "unusable", stream.resource),
                "kubernetes: watch of %s gave nothing usable for %.0fs; the source is down "
                "until it does", stream.where(), self.unusable_grace_seconds)
            self._stream_health(("usable", stream.resource, stream.namespace or ""), False)

    def _watch_once(self, group: _Group, stream: _Stream, generation: int,
                    stop: threading.Event) -> str:
        """One watch request; returns why it ended."""
        endpoint, args, kwargs = self._endpoint(stream)
        key = ("watch", stream.resource, stream.namespace or "")

        def func(*call_args: Any, **call_kwargs: Any) -> Any:
            response = endpoint(*call_args, **call_kwargs)
            # The API server accepted the watch (an error status raises above): healthy.
            self._stream_health(key, True)
            self._usable(stream)
            return response

        def oversized() -> None:
            self.model.stats.skip(stream.resource, "too_large",
                                  f"a watch line of {stream.where()} longer than "
                                  f"{self.max_line_bytes} bytes")
            self._unusable(stream)

        current = _RawWatch(self.max_line_bytes, oversized, lambda: self._unusable(stream))
        stream.watch = current
        try:
            for event in current.stream(
                    func, *args, **kwargs, resource_version=stream.resource_version,
                    allow_watch_bookmarks=True, timeout_seconds=self.watch_timeout_seconds,
                    _request_timeout=(10, self.watch_timeout_seconds + 30)):
                if stop.is_set():
                    return "stopped"
                if not self._deliver(group, stream, generation, event):
                    return "stale"
            return "closed"
        except client.ApiException as error:
            if error.status == 410:
                return "expired"
            self._log_failure("watch", ApiFailure(stream, error.status or 0, error.reason or ""))
            return "error"
        except CONNECTION_ERRORS as error:
            if not stop.is_set():
                self.model.stats.log_once(
                    ("kubernetes", "dropped", stream.resource),
                    "kubernetes: watch of %s dropped (%s); resuming from resourceVersion %s",
                    stream.where(), error, stream.resource_version)
            return "dropped"
        except (KeyError, TypeError, ValueError) as error:
            # The client could not read an event (say, an ERROR without a code).
            self.model.stats.skip(stream.resource, "malformed_event", f"{type(error).__name__}: {error}")
            self._unusable(stream)
            return "error"
        finally:
            stream.watch = None
            current.stop()  # type: ignore[no-untyped-call]

    def _deliver(self, group: _Group, stream: _Stream, generation: int, event: Any) -> bool:
        """Apply one watch event; False when a re-list has made this watch stale."""
        event = mapping(event)
        kind = text(event.get("type"))
        obj = event.get("raw_object")
        if kind == MALFORMED:
            self.model.stats.skip(stream.resource, "malformed_event",
                                  f"undecodable watch event: {text(event.get('error'))}")
            self._unusable(stream)
            return True
        if (kind not in WATCHED_EVENTS and kind != "BOOKMARK") or not isinstance(obj, Mapping):
            self.model.stats.skip(stream.resource, "malformed_event",
                                  f"watch event of type {kind or '<none>'} without an object")
            self._unusable(stream)
            return True
        self._usable(stream)
        with group.lock:
            if group.generation != generation:
                return False
            if kind == "BOOKMARK":
                self.model.stats.event(stream.resource, "BOOKMARK")
            else:
                self.model.apply(stream.resource, kind, obj, replay=False, origin=self.name)
            version = text(mapping(obj.get("metadata")).get("resourceVersion"))
            if version:
                stream.resource_version = version
        return True

    # --- faults ----------------------------------------------------------------------------

    def _backoff(self, failures: int) -> float:
        """Exponential backoff, capped, with full jitter so many exporters do not align."""
        ceiling = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** max(0, failures - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _log_failure(self, action: str, failure: ApiFailure) -> None:
        self.model.stats.log_once(
            ("kubernetes", action, failure.stream.resource, str(failure.status)),
            "kubernetes: cannot %s %s; retrying with backoff", action, failure)


class ApiFailure(Exception):
    """A list or watch the API server refused or that never reached it."""

    def __init__(self, stream: _Stream, status: int, reason: str) -> None:
        self.stream = stream
        self.status = status
        self.reason = reason
        detail = f"HTTP {status} {reason}".strip() if status else reason
        super().__init__(f"{stream.where()}: {detail}")
