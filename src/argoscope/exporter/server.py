"""The exporter's HTTP endpoints: `/metrics`, `/healthz`, `/readyz`.

`/metrics` is prometheus_client's own WSGI app (content negotiation, gzip when the scraper
accepts it); this module adds what a long-running exporter needs around it: HEAD, a read
timeout per connection (an idle or slow client gives its thread back), a cap on concurrent
connections (the excess is answered 503 at once, never queued as a thread), a collector that
fails leaving only its own families out, and a scrape that never fails on a label value that
cannot be encoded.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from argoscope.exporter.render import Collectable

log = logging.getLogger("argoscope.exporter")

DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_CONNECTION_TIMEOUT_SECONDS = 10.0
_SURROGATES = re.compile("[\ud800-\udfff]")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
OnError = Callable[[str], None]


Source = Callable[[], Iterable[Metric]] | Collectable


class _FunctionCollector(Collector):
    def __init__(self, source: Source, on_error: OnError | None) -> None:
        self._on_error = on_error
        if callable(source):
            self._collect: Callable[[], Iterable[Metric]] = source
            self._describe: Callable[[], Iterable[Metric]] | None = None
            self._name = getattr(source, "__qualname__", repr(source))
        else:
            self._collect = source.collect
            self._describe = getattr(source, "describe", None)
            self._name = type(source).__name__

    def describe(self) -> Iterable[Metric]:
        # The registry refuses a family name that another collector already describes.
        return self._describe() if self._describe is not None else []

    def collect(self) -> Iterable[Metric]:
        if self._on_error is None:
            return self._collect()
        try:
            # Built in full here, so a failure part-way leaves out this collector only.
            return list(self._collect())
        except Exception:
            log.exception("collector %s failed; its families are left out of this scrape",
                          self._name)
            self._on_error(self._name)
            return []


def build_registry(*collects: Source, on_error: OnError | None = None) -> CollectorRegistry:
    """A registry whose collectors build fresh families per scrape: collect functions, or
    objects with `collect()` whose `describe()` makes the registry refuse duplicate names.

    With `on_error`, a collector that raises is left out of that scrape (and reported to
    `on_error` by name: its function's, or its object's class name) instead of failing the
    whole scrape.
    """
    registry = CollectorRegistry(auto_describe=False)
    for collect in collects:
        registry.register(_FunctionCollector(collect, on_error))
    return registry


class _Sanitised(Collector):
    """Every family of `registry` with label values made valid UTF-8 (the slow path)."""

    def __init__(self, registry: Collector) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        for metric in self._registry.collect():
            metric.samples = [
                sample._replace(labels={key: _SURROGATES.sub("\ufffd", str(value))
                                        for key, value in sample.labels.items()})
                for sample in metric.samples
            ]
            yield metric


def metrics_app(registry: Collector, on_error: OnError | None = None
                ) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    """prometheus_client's WSGI app for `registry`, with HEAD and an encoding fallback."""
    fast = make_wsgi_app(registry)
    safe = make_wsgi_app(_Sanitised(registry))

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        head = environ.get("REQUEST_METHOD") == "HEAD"
        if head:
            environ = dict(environ, REQUEST_METHOD="GET")
        answer: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            answer[:] = [status, headers]

        try:
            body = b"".join(fast(environ, capture))
        except UnicodeError:
            # Labels are made valid UTF-8 where they enter; should one slip through, this
            # scrape is served with it replaced rather than failed.
            log.exception("a label value could not be encoded; serving it replaced")
            if on_error is not None:
                on_error("encode")
            body = b"".join(safe(environ, capture))
        status, headers = answer
        # The length of the GET body, for HEAD too (that is what HEAD promises).
        start_response(status, [*(h for h in headers if h[0].lower() != "content-length"),
                                ("Content-Length", str(len(body)))])
        return [] if head else [body]

    return app


class _Handler(WSGIRequestHandler):
    # Per-connection socket timeout: a client that opens a connection and sends nothing (or
    # trickles) loses it after this many seconds, and its thread is freed.
    timeout = DEFAULT_CONNECTION_TIMEOUT_SECONDS

    def log_message(self, format: str, *args: Any) -> None:
        return  # scrapes every few seconds would flood the log


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    max_connections = DEFAULT_MAX_CONNECTIONS
    refused = 0
    on_refused: Callable[[], None] | None = None

    def server_activate(self) -> None:
        self._slots = threading.BoundedSemaphore(self.max_connections)
        super().server_activate()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.refused += 1
            if self.on_refused is not None:
                self.on_refused()
            with contextlib.suppress(OSError):
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                b"Connection: close\r\n\r\n")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up or timed out (an OSError) is not the exporter's error;
        # anything else is a bug in serving, and says so.
        if isinstance(sys.exc_info()[1], OSError):
            return
        log.exception("error while serving %s", client_address)


class MetricsServer:
    """A threaded HTTP server; `ready` decides what `/readyz` answers."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int,
                 ready: Callable[[], bool], *, on_error: OnError | None = None,
                 on_refused: Callable[[], None] | None = None,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 connection_timeout: float = DEFAULT_CONNECTION_TIMEOUT_SECONDS) -> None:
        self.registry = registry
        self._ready = ready
        self._metrics = metrics_app(registry, on_error)
        handler = type("Handler", (_Handler,), {"timeout": connection_timeout})
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_class: type[_Server] = type(
            "Server", (_Server,), {"max_connections": max_connections, "address_family": family,
                                   "on_refused": staticmethod(on_refused) if on_refused else None})
        self.httpd = server_class((host, port), handler)
        self.httpd.set_app(self._app)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when asked for port 0)."""
        return int(self.httpd.server_address[1])

    @property
    def refused(self) -> int:
        """Connections answered 503 because the cap was reached."""
        return int(self.httpd.refused)

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def _app(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return _plain(start_response, "405 Method Not Allowed", b"use GET or HEAD\n",
                          method, [("Allow", "GET, HEAD")])
        if path == "/metrics":
            return self._metrics(environ, start_response)
        if path == "/healthz":
            return _plain(start_response, "200 OK", b"ok\n", method)
        if path == "/readyz":
            if self._ready():
                return _plain(start_response, "200 OK", b"ready\n", method)
            return _plain(start_response, "503 Service Unavailable", b"not ready\n", method)
        return _plain(start_response, "404 Not Found",
                      b"not found: try /metrics, /healthz or /readyz\n", method)


def _plain(start_response: StartResponse, status: str, body: bytes, method: str,
           extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body))), *(extra or [])])
    return [] if method == "HEAD" else [body]
