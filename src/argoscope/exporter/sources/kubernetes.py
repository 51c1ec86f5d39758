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
from collections.abc import Callable, Iterator, Mapping
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
# Errors of the connection itself (not an API answer): broken streams, timeouts, refusals.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.HTTPError, ConnectionError, TimeoutError, OSError)


class _RawWatch(watch.Watch):
    """The client's `Watch`, yielding events with the raw object only (no typed model).

    Events are decoded with orjson: faster, and its bounded depth turns a pathologically
    nested object into one malformed event (counted and skipped) instead of a RecursionError
    that would end the watch and replay the same event forever.
    """

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


@dataclass
class _Stream:
    """One list-and-watch target: a resource in one namespace, or in all (`namespace=None`)."""

    resource: str
    namespace: str | None
    resource_version: str = ""
    watch: _RawWatch | None = None

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
    ) -> None:
        self.name = "kubernetes"
        self.model = model
        self.watch_timeout_seconds = watch_timeout_seconds
        self.page_size = page_size
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
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
        again with backoff; while it fails the source is down.
        """
        failures = 0
        key = ("watch", stream.resource, stream.namespace or "")
        while not stop.is_set():
            generation = group.generation
            try:
                reason, delivered = self._watch_once(group, stream, generation, stop)
            except Exception as error:  # a bug must not end this stream for good
                self.model.stats.log_once(
                    ("kubernetes", "crash", stream.resource),
                    "kubernetes: watch of %s failed unexpectedly (%s: %s); retrying with "
                    "backoff", stream.where(), type(error).__name__, error)
                reason, delivered = "crash", False
            if stop.is_set():
                return
            if reason == "stale":
                continue  # another stream re-listed the group: resume from the new list
            self.model.stats.watch_restart(stream.resource, reason)
            failures = 0 if delivered or reason == "closed" else failures + 1
            if reason in ("error", "crash"):
                self._stream_health(key, False)
            if reason == "expired":
                failures = self._relist_after_gone(group, stream, generation, stop, failures)
            elif failures:
                stop.wait(self._backoff(failures))

    def _relist_after_gone(self, group: _Group, stream: _Stream, generation: int,
                           stop: threading.Event, failures: int) -> int:
        """Re-list the group after `410 Gone`, unless another stream already did."""
        while not stop.is_set() and group.generation == generation:
            try:
                self._relist(group, replay=False, unless_past=generation)
                self._stream_health(("list", group.resource), True)
                return 0
            except ApiFailure as failure:
                failures += 1
                self._log_failure("list", failure)
                self._stream_health(("list", group.resource), False)
                stop.wait(self._backoff(failures))
        return failures

    def _watch_once(self, group: _Group, stream: _Stream, generation: int,
                    stop: threading.Event) -> tuple[str, bool]:
        """One watch request; returns why it ended and whether it delivered anything."""
        endpoint, args, kwargs = self._endpoint(stream)
        key = ("watch", stream.resource, stream.namespace or "")

        def func(*call_args: Any, **call_kwargs: Any) -> Any:
            response = endpoint(*call_args, **call_kwargs)
            # The API server accepted the watch (an error status raises above): healthy.
            self._stream_health(key, True)
            return response

        current = _RawWatch()  # type: ignore[no-untyped-call]
        stream.watch = current
        delivered = False
        try:
            for event in current.stream(  # type: ignore[no-untyped-call]
                    func, *args, **kwargs, resource_version=stream.resource_version,
                    allow_watch_bookmarks=True, timeout_seconds=self.watch_timeout_seconds,
                    _request_timeout=(10, self.watch_timeout_seconds + 30)):
                if stop.is_set():
                    return "stopped", delivered
                if not self._deliver(group, stream, generation, event):
                    return "stale", delivered
                delivered = True
            return "closed", delivered
        except client.ApiException as error:
            if error.status == 410:
                return "expired", delivered
            self._log_failure("watch", ApiFailure(stream, error.status or 0, error.reason or ""))
            return "error", delivered
        except CONNECTION_ERRORS as error:
            if not stop.is_set():
                self.model.stats.log_once(
                    ("kubernetes", "dropped", stream.resource),
                    "kubernetes: watch of %s dropped (%s); resuming from resourceVersion %s",
                    stream.where(), error, stream.resource_version)
            return "dropped", delivered
        except (KeyError, TypeError, ValueError) as error:
            # The client could not read an event (say, an ERROR without a code).
            self.model.stats.skip(stream.resource, "malformed_event", f"{type(error).__name__}: {error}")
            return "error", delivered
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
            return True
        if (kind not in WATCHED_EVENTS and kind != "BOOKMARK") or not isinstance(obj, Mapping):
            self.model.stats.skip(stream.resource, "malformed_event",
                                  f"watch event of type {kind or '<none>'} without an object")
            return True
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
