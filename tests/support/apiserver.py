"""An HTTP double of the Kubernetes API server: list and watch for Workflows and Pods.

It speaks the parts of the API the exporter's Kubernetes source uses, over real HTTP on a free
loopback port, so the real `kubernetes` client library talks to it unchanged:

- `GET /apis/argoproj.io/v1alpha1[/namespaces/{ns}]/workflows`,
  `GET /api/v1[/namespaces/{ns}]/pods` and `GET /api/v1/nodes`, with `labelSelector`
  (`key`, `key=value`, `!key`), `limit` and `continue` on lists;
- `watch=1` with `resourceVersion`, `allowWatchBookmarks` and `timeoutSeconds`: a chunked
  stream of JSON lines, replaying every event after the requested resourceVersion, then
  following new ones.

Tests drive it with `put` (ADDED or MODIFIED), `delete`, `bookmark`, `drop_watches` (a
connection broken mid-stream), `expire` (`410 Gone`: an ERROR event with a Status of code 410
in open streams, and for any later request from an older resourceVersion, as the real server
does once its watch cache has moved on) and `fail_next` (answer the next requests with an HTTP
error such as 410 or 500), `inject_raw` (a raw line, or a piece of one that never ends) and
`end_watches_at_once` (every watch accepted and ended empty). `requests` records every request
for assertions.
"""

from __future__ import annotations

import copy
import json
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

WORKFLOWS = "workflows"
PODS = "pods"
NODES = "nodes"  # cluster-scoped: listed and watched at /api/v1/nodes (cost's node rules)
_PREFIXES = {WORKFLOWS: "/apis/argoproj.io/v1alpha1", PODS: "/api/v1", NODES: "/api/v1"}
_LIST_KINDS = {WORKFLOWS: ("argoproj.io/v1alpha1", "WorkflowList"), PODS: ("v1", "PodList"),
               NODES: ("v1", "NodeList")}


@dataclass(frozen=True)
class Request:
    """One request the double answered."""

    resource: str
    namespace: str | None
    watch: bool
    query: Mapping[str, str]


@dataclass
class _Event:
    rv: int
    resource: str
    type: str
    obj: dict[str, Any]


@dataclass
class _Failure:
    resource: str
    watch: bool | None
    status: int
    reason: str


@dataclass
class _State:
    objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = field(
        default_factory=lambda: {WORKFLOWS: {}, PODS: {}, NODES: {}})
    log: list[_Event] = field(default_factory=list)
    rv: int = 100
    # Watches from a resourceVersion below this get 410 Gone (the watch cache moved on).
    oldest_rv: dict[str, int] = field(default_factory=lambda: {WORKFLOWS: 0, PODS: 0, NODES: 0})
    # Bumped by drop_watches / expire: open streams compare their start value with these.
    drops: dict[str, int] = field(default_factory=lambda: {WORKFLOWS: 0, PODS: 0, NODES: 0})
    expiries: dict[str, int] = field(default_factory=lambda: {WORKFLOWS: 0, PODS: 0, NODES: 0})
    failures: list[_Failure] = field(default_factory=list)
    open_watches: dict[str, int] = field(default_factory=lambda: {WORKFLOWS: 0, PODS: 0, NODES: 0})
    # Resources whose open watches deliver nothing for now (the client is "away").
    held: set[str] = field(default_factory=set)
    # Resources whose watches are accepted and ended at once, with nothing in them.
    ended_at_once: set[str] = field(default_factory=set)
    closing: bool = False


def _selector_matches(selector: str, labels: Mapping[str, Any]) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if term.startswith("!"):
            if term[1:] in labels:
                return False
        elif "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.split("=", 1)
            if labels.get(key) != value.lstrip("="):
                return False
        elif term not in labels:
            return False
    return True


def _key(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj["metadata"]
    return meta.get("namespace", "default"), meta["name"]


class ApiServerDouble:
    """A threaded API-server double; use as a context manager or call `start`/`stop`."""

    def __init__(self) -> None:
        self._state = _State()
        self._cond = threading.Condition()
        self.requests: list[Request] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> ApiServerDouble:
        """Listen on a free loopback port and serve in a background thread."""
        double = self

        class Handler(_Handler):
            server_double = double

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="apiserver",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """End every open stream and stop serving."""
        with self._cond:
            self._state.closing = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ApiServerDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, as a kubeconfig's `server`."""
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def write_kubeconfig(self, path: Path, context: str = "double") -> Path:
        """Write a kubeconfig whose context `context` points at this double."""
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "double", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {"token": "test-token"}}],
            "contexts": [{"name": context, "context": {"cluster": "double", "user": "tester"}}],
        }
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    # --- test controls -------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        """The current (latest) resourceVersion."""
        with self._cond:
            return self._state.rv

    def put(self, resource: str, obj: Mapping[str, Any]) -> int:
        """Create (ADDED) or replace (MODIFIED) an object; returns its new resourceVersion."""
        with self._cond:
            stored = copy.deepcopy(dict(obj))
            key = _key(stored)
            table = self._state.objects[resource]
            event = "MODIFIED" if key in table else "ADDED"
            return self._record(resource, event, stored, store=True)

    def delete(self, resource: str, namespace: str, name: str) -> int:
        """Delete an object (DELETED carries its last state); returns the resourceVersion."""
        with self._cond:
            stored = self._state.objects[resource].pop((namespace, name))
            return self._record(resource, "DELETED", copy.deepcopy(stored), store=False)

    def bookmark(self, resource: str) -> int:
        """Send a BOOKMARK at the current resourceVersion to open watches that asked for them."""
        with self._cond:
            rv = self._state.rv
            obj = {"kind": _LIST_KINDS[resource][1][:-4],
                   "apiVersion": _LIST_KINDS[resource][0],
                   "metadata": {"resourceVersion": str(rv)}}
            self._state.log.append(_Event(rv, resource, "BOOKMARK", obj))
            self._cond.notify_all()
            return rv

    def drop_watches(self, resource: str) -> None:
        """Break every open watch of `resource` mid-stream (no terminating chunk)."""
        with self._cond:
            self._state.drops[resource] += 1
            self._state.held.discard(resource)
            self._cond.notify_all()

    def expire(self, resource: str) -> None:
        """`410 Gone`: history so far is forgotten; open watches get an ERROR event and end,
        and any later watch from an older resourceVersion gets one too."""
        with self._cond:
            self._state.oldest_rv[resource] = self._state.rv
            self._state.expiries[resource] += 1
            self._state.held.discard(resource)
            self._cond.notify_all()

    def hold_watches(self, resource: str) -> None:
        """Stop delivering events of `resource` to open watches until `expire`,
        `drop_watches` or `release_watches`: changes made meanwhile happen while the client
        is away, as when a watch is down for a while."""
        with self._cond:
            self._state.held.add(resource)

    def release_watches(self, resource: str) -> None:
        """Deliver events of `resource` again."""
        with self._cond:
            self._state.held.discard(resource)
            self._cond.notify_all()

    def inject_raw(self, resource: str, line: str, *, newline: bool = True) -> None:
        """Send one raw line (say, malformed JSON) to open watches of `resource`; with
        `newline=False`, a piece of a line that goes on in the next piece."""
        with self._cond:
            self._state.log.append(_Event(self._state.rv, resource, "RAW",
                                          {"line": line, "newline": newline}))
            self._cond.notify_all()

    def end_watches_at_once(self, resource: str, on: bool = True) -> None:
        """Accept every new watch of `resource` (200) and end it at once, empty."""
        with self._cond:
            if on:
                self._state.ended_at_once.add(resource)
            else:
                self._state.ended_at_once.discard(resource)

    def fail_next(self, resource: str, status: int, *, watch: bool | None = None,
                  count: int = 1, reason: str = "Injected") -> None:
        """Answer the next `count` list (`watch=False`), watch (`True`) or any (`None`)
        requests for `resource` with HTTP `status` and a Status body."""
        with self._cond:
            for _ in range(count):
                self._state.failures.append(_Failure(resource, watch, status, reason))

    def clear_failures(self) -> None:
        """Forget failures queued by `fail_next` that were not used yet."""
        with self._cond:
            self._state.failures.clear()

    def open_watches(self, resource: str) -> int:
        """How many watch streams of `resource` are open now."""
        with self._cond:
            return self._state.open_watches[resource]

    def watch_requests(self, resource: str) -> list[Request]:
        """Every watch request for `resource` so far, oldest first."""
        return [r for r in list(self.requests) if r.resource == resource and r.watch]

    # --- internals -----------------------------------------------------------------------

    def _record(self, resource: str, event: str, obj: dict[str, Any], *, store: bool) -> int:
        self._state.rv += 1
        rv = self._state.rv
        obj.setdefault("metadata", {})["resourceVersion"] = str(rv)
        if store:
            self._state.objects[resource][_key(obj)] = obj
        self._state.log.append(_Event(rv, resource, event, copy.deepcopy(obj)))
        self._cond.notify_all()
        return rv

    def _take_failure(self, resource: str, watch: bool) -> _Failure | None:
        with self._cond:
            for failure in self._state.failures:
                if failure.resource == resource and failure.watch in (None, watch):
                    self._state.failures.remove(failure)
                    return failure
            return None

    def _list(self, resource: str, namespace: str | None, query: Mapping[str, str]
              ) -> dict[str, Any]:
        selector = query.get("labelSelector", "")
        with self._cond:
            items = [copy.deepcopy(o) for k, o in sorted(self._state.objects[resource].items())
                     if (namespace is None or k[0] == namespace)
                     and _selector_matches(selector, o["metadata"].get("labels") or {})]
            rv = self._state.rv
        # A continue token is "<offset>:<resourceVersion of the first page>".
        start, page_rv = 0, rv
        if query.get("continue"):
            offset, _, first_rv = query["continue"].partition(":")
            start, page_rv = int(offset), int(first_rv)
        limit = int(query.get("limit") or 0)
        end = start + limit if limit else len(items)
        meta: dict[str, Any] = {"resourceVersion": str(page_rv)}
        if end < len(items):
            meta["continue"] = f"{end}:{page_rv}"
        api_version, kind = _LIST_KINDS[resource]
        return {"apiVersion": api_version, "kind": kind, "metadata": meta,
                "items": items[start:end]}

    def _watch_events(self, resource: str, namespace: str | None, query: Mapping[str, str]
                      ) -> Iterator[dict[str, Any] | bytes | tuple[bytes, bool] | None]:
        """Events for one watch stream (a raw line as bytes, a piece of one as a tuple);
        None: break the connection."""
        selector = query.get("labelSelector", "")
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1", "True")
        timeout = float(query.get("timeoutSeconds") or 3600)
        deadline = time.monotonic() + timeout
        since = int(query.get("resourceVersion") or 0)
        with self._cond:
            state = self._state
            drops, expiries = state.drops[resource], state.expiries[resource]
            gone = bool(since) and since < state.oldest_rv[resource]
            # No resourceVersion: like the real server, start with the current state.
            cursor = opened_at = len(state.log)
            initial = [] if since else [
                copy.deepcopy(o) for k, o in sorted(state.objects[resource].items())
                if (namespace is None or k[0] == namespace)
                and _selector_matches(selector, o["metadata"].get("labels") or {})]
        if gone:
            yield _gone(since)
            return
        for obj in initial:
            yield {"type": "ADDED", "object": obj}
        if since:
            cursor = 0
        while True:
            outcome: str | None = None
            with self._cond:
                while True:
                    if state.closing:
                        return
                    if state.drops[resource] != drops:
                        outcome = "drop"
                        break
                    if state.expiries[resource] != expiries:
                        outcome = "gone"
                        break
                    if cursor < len(state.log) and resource not in state.held:
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return
                    self._cond.wait(remaining)
                pending = list(enumerate(state.log[cursor:], start=cursor))
                cursor = len(state.log)
            if outcome == "drop":
                yield None
                return
            if outcome == "gone":
                yield _gone(since)
                return
            for index, event in pending:
                if event.resource != resource:
                    continue
                if event.type == "RAW":
                    if index >= opened_at:  # only to streams open when it was injected
                        raw = event.obj["line"].encode()
                        yield raw if event.obj.get("newline", True) else (raw, False)
                    continue
                if since and event.rv <= since:
                    continue
                if event.type == "BOOKMARK":
                    if bookmarks:
                        yield {"type": "BOOKMARK", "object": event.obj}
                    continue
                meta = event.obj["metadata"]
                if namespace is not None and meta.get("namespace") != namespace:
                    continue
                if not _selector_matches(selector, meta.get("labels") or {}):
                    continue
                yield {"type": event.type, "object": event.obj}


def _gone(since: int) -> dict[str, Any]:
    return {"type": "ERROR", "object": {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f"too old resource version: {since}", "reason": "Expired", "code": 410}}


def _status(code: int, reason: str, message: str) -> bytes:
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {},
                       "status": "Failure", "message": message, "reason": reason,
                       "code": code}).encode()


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up (a watch stopped, a pooled connection closed) are no error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_double: ApiServerDouble

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep test output quiet

    def _route(self) -> tuple[str, str | None] | None:
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        for resource, prefix in _PREFIXES.items():
            if path == f"{prefix}/{resource}":
                return resource, None
            head = f"{prefix}/namespaces/"
            if path.startswith(head) and path.endswith(f"/{resource}"):
                namespace = path[len(head):-len(resource) - 1]
                if namespace and "/" not in namespace:
                    return resource, namespace
        return None

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        double = self.server_double
        route = self._route()
        if route is None:
            self._send(404, _status(404, "NotFound", f"no route for {self.path}"))
            return
        resource, namespace = route
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        watch = query.get("watch") in ("1", "true", "True")
        double.requests.append(Request(resource, namespace, watch, query))
        failure = double._take_failure(resource, watch)
        if failure is not None:
            self._send(failure.status, _status(failure.status, failure.reason,
                                               f"injected {failure.status}"))
            return
        if not watch:
            body = json.dumps(double._list(resource, namespace, query)).encode()
            self._send(200, body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        with double._cond:
            if resource in double._state.ended_at_once:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                return
            double._state.open_watches[resource] += 1
        try:
            for event in double._watch_events(resource, namespace, query):
                if event is None:
                    # Broken mid-stream: half a chunk, then the connection goes away.
                    self.wfile.write(b"40\r\n{\"type\":")
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if isinstance(event, tuple):  # a piece of a line, no newline
                    line = event[0]
                else:
                    line = (event if isinstance(event, bytes)
                            else json.dumps(event).encode()) + b"\n"
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            with double._cond:
                double._state.open_watches[resource] -= 1
