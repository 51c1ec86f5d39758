"""The exporter's HTTP endpoints: `/metrics`, `/healthz`, `/readyz`.

Transport that a slow or hostile client cannot hold (docs/design.md, "Invariants: tenants and
transport"):

- every connection has a whole-request deadline, from accept to the last byte of the answer,
  kept by a watchdog (`deadlines`): a client trickling its request one byte at a time, or
  reading the answer slowly, loses the connection at the deadline however often it sends;
- a connection costs no thread until its request head has fully arrived: one front loop reads
  every head without blocking, so trickling clients hold no worker;
- `/healthz`, `/readyz` (and every other cheap answer) are answered by the front loop itself,
  never queued behind scrapes; only `/metrics` takes a worker, and workers are capped (the
  excess is answered 503 at once and counted);
- concurrent scrapes share one rendering of the exposition (single flight), so N scrapers do
  not hold N copies of it.

`/metrics` keeps prometheus_client's encoders (content negotiation, gzip when the scraper
accepts it), HEAD, a collector that fails leaving only its own families out, and a scrape that
never fails on a label value that cannot be encoded. Each series' rendered bytes are kept
between scrapes (`exposition`): only what changed is rendered again, and an unchanged body
is served with the gzip made for it before.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import selectors
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.registry import Collector

from argoscope.exporter.deadlines import WATCHDOG
from argoscope.exporter.exposition import ExpositionCache, FormatCache, GzipSegments, OneFamily
from argoscope.exporter.render import Collectable

log = logging.getLogger("argoscope.exporter")

DEFAULT_MAX_CONNECTIONS = 64
# From accept to the last byte of the answer: past it the connection is cut.
DEFAULT_REQUEST_TIMEOUT_SECONDS = 30.0
# Connections still sending their request head; past this the oldest is dropped, so a flood of
# idle connections cannot keep a new scraper out.
DEFAULT_MAX_PENDING = 1024
# A request head (request line and headers) larger than this is refused (431).
MAX_HEAD_BYTES = 16 * 1024
_SURROGATES = re.compile("[\ud800-\udfff]")
_EOF = b"# EOF\n"

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
OnError = Callable[[str], None]
OnEvent = Callable[[str], None]


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

    @property
    def name(self) -> str:
        """The collector's name, as `on_error` hears it."""
        return self._name

    def families(self) -> Iterable[Metric]:
        """The families one at a time, as the source builds them (no isolation here: the
        streaming renderer isolates a failure to this collector's families itself)."""
        return self._collect()

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
    registry = _Registry(auto_describe=False)
    for collect in collects:
        part = _FunctionCollector(collect, on_error)
        registry.register(part)
        registry.parts.append(part)
    return registry


class _Registry(CollectorRegistry):
    """A registry that also lists its collectors in order, for the streaming renderer."""

    def __init__(self, auto_describe: bool = False) -> None:
        super().__init__(auto_describe=auto_describe)
        self.parts: list[_FunctionCollector] = []


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


class _Body:
    """One rendering of the exposition, in pieces, and its gzip made once when first asked
    for: a scrape that finds the same exposition as the last one serves the same `_Body`."""

    __slots__ = ("_compressor", "_gzip", "_lock", "length", "pieces")

    def __init__(self, pieces: list[bytes], compressor: GzipSegments | None = None) -> None:
        self.pieces = pieces
        self.length = sum(len(piece) for piece in pieces)
        self._compressor = compressor or GzipSegments()
        self._gzip: list[bytes] | None = None
        self._lock = threading.Lock()

    def gzipped(self) -> list[bytes]:
        """The pieces as one gzip stream, made once per body (from the format's segments:
        a family unchanged since the last body is not compressed again)."""
        with self._lock:
            if self._gzip is None:
                self._gzip = [b"".join(self._compressor.gzip(self.pieces))]
            return self._gzip


@dataclass(slots=True)
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    body: _Body | None = None
    error: BaseException | None = None


class _SingleFlight:
    """One rendering of the exposition per format at a time, shared by every scrape that
    arrives while it runs: N concurrent scrapes hold one copy, not N.

    With a registry from `build_registry`, each family is rendered through the exposition
    cache: only the series that changed since the last scrape are rendered again.
    """

    def __init__(self, registry: Collector, on_error: OnError | None) -> None:
        self._registry = registry
        self._sanitised = _Sanitised(registry)
        self._on_error = on_error
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}
        self._cache = ExpositionCache(self._count_replaced)
        self._last: dict[str, _Body] = {}
        self._compressors: dict[str, GzipSegments] = {}
        self.renders = 0  # how many renderings were made (tests and the bench read it)

    @property
    def compressions(self) -> int:
        """Pieces (families) gzip-compressed so far, over every format (tests, the bench)."""
        with self._lock:
            return sum(compressor.compressed for compressor in self._compressors.values())

    @property
    def cache(self) -> ExpositionCache:
        """The exposition cache (its size is reported by the bench)."""
        return self._cache

    def body(self, encoder: Callable[[Collector], bytes], content_type: str) -> _Body:
        """The exposition in `content_type`, rendered now or by a scrape already rendering."""
        with self._lock:
            flight = self._flights.get(content_type)
            leader = flight is None
            if flight is None:
                flight = self._flights[content_type] = _Flight()
        if leader:
            try:
                flight.body = self._render(encoder, content_type)
            except BaseException as error:
                flight.error = error
            finally:
                with self._lock:
                    del self._flights[content_type]
                flight.done.set()
        else:
            flight.done.wait()
        if flight.error is not None:
            raise flight.error
        assert flight.body is not None
        return flight.body

    def _render(self, encoder: Callable[[Collector], bytes], content_type: str) -> _Body:
        self.renders += 1
        parts = getattr(self._registry, "parts", None)
        if parts is not None:
            pieces = self._stream(encoder, content_type, parts)
        else:
            try:
                pieces = [encoder(self._registry)]
            except UnicodeError:
                self._replaced()
                pieces = [encoder(self._sanitised)]
        with self._lock:
            last = self._last.get(content_type)
            if last is not None and last.pieces == pieces:
                return last  # the same exposition: its gzip is reused too
            compressor = self._compressors.pop(content_type, None) or GzipSegments()
            self._compressors[content_type] = compressor
            body = self._last[content_type] = _Body(pieces, compressor)
            if len(self._last) > 4:  # formats come from Accept headers: keep a few
                del self._last[next(iter(self._last))]
            while len(self._compressors) > 4:
                del self._compressors[next(iter(self._compressors))]
        return body

    def _stream(self, encoder: Callable[[Collector], bytes], content_type: str,
                parts: list[_FunctionCollector]) -> list[bytes]:
        """The exposition family by family: each family's samples are dropped once it is
        written, so the peak is the text plus one family, not every family's objects.

        A collector that fails part-way leaves out all its families, as `collect` does.
        """
        with self._lock:
            cache = self._cache.format(content_type, encoder)
        pieces: list[bytes] = []
        for part in parts:
            mine: list[bytes] = []
            try:
                for metric in part.families():
                    mine.append(self._family(cache, encoder, metric))
            except Exception:
                log.exception("collector %s failed; its families are left out of this scrape",
                              part.name)
                if self._on_error is not None:
                    self._on_error(part.name)
                continue
            pieces += mine
        if not content_type.startswith("text/plain"):
            pieces.append(_EOF)  # OpenMetrics ends once, after every family
        return pieces

    def _family(self, cache: FormatCache, encoder: Callable[[Collector], bytes],
                metric: Metric) -> bytes:
        """One family's bytes: from the cache when it carries typed rows, else encoded."""
        if cache.cacheable(metric):
            try:
                return cache.render(metric)
            except TypeError:  # a row the cache cannot key (labels not hashable): encode it
                log.debug("family %s rendered without the cache", metric.name, exc_info=True)
        try:
            text = encoder(OneFamily(metric))
        except UnicodeError:
            self._replaced()
            text = encoder(_Sanitised(OneFamily(metric)))
        return text[:-len(_EOF)] if text.endswith(_EOF) else text

    def _replaced(self) -> None:
        # Labels are made valid UTF-8 where they enter; should one slip through, this
        # scrape is served with it replaced rather than failed.
        log.exception("a label value could not be encoded; serving it replaced")
        self._count_replaced()

    def _count_replaced(self) -> None:
        if self._on_error is not None:
            self._on_error("encode")


def metrics_app(registry: Collector, on_error: OnError | None = None
                ) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    """The `/metrics` WSGI app for `registry`: prometheus_client's formats and gzip, HEAD, an
    encoding fallback, and one rendering shared by concurrent scrapes."""
    flights = _SingleFlight(registry, on_error)

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        head = environ.get("REQUEST_METHOD") == "HEAD"
        encoder, content_type = choose_encoder(environ.get("HTTP_ACCEPT") or "")
        params = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        if "name[]" in params and isinstance(registry, CollectorRegistry):
            # A filtered scrape is its own rendering (rare: debugging by hand).
            body = _Body([encoder(registry.restricted_registry(params["name[]"]))])
        else:
            body = flights.body(encoder, content_type)
        headers = [("Content-Type", content_type)]
        pieces = body.pieces
        if gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING") or ""):
            pieces = body.gzipped()
            headers.append(("Content-Encoding", "gzip"))
        # The length of the GET body, for HEAD too (that is what HEAD promises).
        length = sum(len(piece) for piece in pieces)
        start_response("200 OK", [*headers, ("Content-Length", str(length))])
        return [] if head else pieces

    app.flights = flights  # type: ignore[attr-defined]
    return app


class _Handler(WSGIRequestHandler):
    """Serves one request whose head the front loop already read (`request` is
    `(socket, head bytes)`)."""

    def setup(self) -> None:
        sock, head = self.request
        self.connection = sock
        self.rfile = io.BytesIO(head)
        self.wfile = socketserver._SocketWriter(sock)  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        return  # scrapes every few seconds would flood the log


class _Server(WSGIServer):
    """Binds the listening socket and builds WSGI environs; the front loop does the rest."""

    request_queue_size = 128  # the front loop drains the backlog at once; bursts fit

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up or timed out (an OSError) is not the exporter's error;
        # anything else is a bug in serving, and says so.
        if isinstance(sys.exc_info()[1], OSError):
            return
        log.exception("error while serving %s", client_address)


@dataclass(slots=True)
class _Pending:
    """A connection whose request head has not fully arrived yet."""

    address: Any
    deadline: float
    head: bytearray = field(default_factory=bytearray)


class MetricsServer:
    """The exporter's HTTP server; `ready` decides what `/readyz` answers.

    `request_timeout` is the whole-request deadline; `max_connections` caps the scrapes served
    at once (the excess is answered 503 and reported to `on_refused`); `on_deadline(phase)`
    hears of each connection cut at its deadline (`head`: the request never fully arrived,
    `answer`: it was not taken in time).
    """

    def __init__(self, registry: CollectorRegistry, host: str, port: int,
                 ready: Callable[[], bool], *, on_error: OnError | None = None,
                 on_refused: Callable[[], None] | None = None,
                 on_deadline: OnEvent | None = None,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 request_timeout: float = DEFAULT_REQUEST_TIMEOUT_SECONDS,
                 max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.registry = registry
        self._ready = ready
        self._metrics = metrics_app(registry, on_error)
        self._on_refused = on_refused
        self._on_deadline = on_deadline
        self._request_timeout = request_timeout
        self._max_pending = max_pending
        self._slots = threading.BoundedSemaphore(max_connections)
        self._refused = 0
        self._busy = 0
        self._busy_lock = threading.Lock()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_class: type[_Server] = type("Server", (_Server,), {"address_family": family})
        self.httpd = server_class((host, port), _Handler)
        self.httpd.set_app(self._metrics)
        self.httpd.socket.setblocking(False)
        self._wake_read, self._wake_write = socket.socketpair()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when asked for port 0)."""
        return int(self.httpd.server_address[1])

    @property
    def refused(self) -> int:
        """Scrapes answered 503 because every worker was busy."""
        return self._refused

    @property
    def busy(self) -> int:
        """Scrapes being served now (each holds a worker)."""
        return self._busy

    @property
    def renders(self) -> int:
        """Renderings of the exposition so far (concurrent scrapes share one)."""
        return int(self._metrics.flights.renders)  # type: ignore[attr-defined]

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._front, name="http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.httpd.server_close()
        self._wake_read.close()
        self._wake_write.close()

    # --- the front loop: accept, read heads, answer probes, hand scrapes to workers ----------

    def _front(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.httpd.socket, selectors.EVENT_READ, None)
        selector.register(self._wake_read, selectors.EVENT_READ, None)
        pending: dict[socket.socket, _Pending] = {}  # in accept order: the oldest first
        try:
            while not self._stopping:
                now = time.monotonic()
                wait = min((p.deadline for p in pending.values()), default=now + 1.0) - now
                for key, _ in selector.select(max(0.0, min(wait, 1.0))):
                    if key.fileobj is self.httpd.socket:
                        self._accept(selector, pending)
                    elif key.fileobj is self._wake_read:
                        continue
                    else:
                        conn: socket.socket = key.fileobj  # type: ignore[assignment]
                        try:
                            self._read(selector, pending, conn)
                        except Exception:  # one connection never stops the front loop
                            log.exception("error while reading a request head")
                            self._drop(selector, pending, conn)
                now = time.monotonic()
                for conn in [c for c, p in pending.items() if p.deadline <= now]:
                    self._drop(selector, pending, conn)
                    if self._on_deadline is not None:
                        self._on_deadline("head")
        finally:
            for conn in list(pending):
                self._drop(selector, pending, conn)
            selector.close()

    def _accept(self, selector: selectors.BaseSelector,
                pending: dict[socket.socket, _Pending]) -> None:
        while True:
            try:
                conn, address = self.httpd.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                # Out of descriptors: the oldest silent connection gives one back, else wait
                # a moment (the listener stays readable, so returning at once would spin).
                if pending:
                    self._drop(selector, pending, next(iter(pending)))
                else:
                    time.sleep(0.05)
                return
            conn.setblocking(False)
            if len(pending) >= self._max_pending:
                # The oldest connection still sending its head gives way to the newest.
                self._drop(selector, pending, next(iter(pending)))
            pending[conn] = _Pending(address, time.monotonic() + self._request_timeout)
            selector.register(conn, selectors.EVENT_READ, None)

    def _read(self, selector: selectors.BaseSelector, pending: dict[socket.socket, _Pending],
              conn: socket.socket) -> None:
        state = pending.get(conn)
        if state is None:
            return
        try:
            data = conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(selector, pending, conn)
            return
        state.head += data
        end = _head_end(state.head)
        # Too large whether or not it has ended: the answer never depends on how the head
        # was cut into pieces.
        if end > MAX_HEAD_BYTES or (end < 0 and len(state.head) > MAX_HEAD_BYTES):
            self._hand_back(selector, pending, conn)
            _answer(conn, "431 Request Header Fields Too Large", b"request head too large\n",
                    "GET")
            return
        if end < 0:
            return
        self._hand_back(selector, pending, conn)
        self._dispatch(conn, state, bytes(state.head[:end]))

    @staticmethod
    def _hand_back(selector: selectors.BaseSelector, pending: dict[socket.socket, _Pending],
                   conn: socket.socket) -> None:
        """Stop watching `conn` for its head (it has arrived, or will not)."""
        del pending[conn]
        selector.unregister(conn)

    @staticmethod
    def _drop(selector: selectors.BaseSelector, pending: dict[socket.socket, _Pending],
              conn: socket.socket) -> None:
        pending.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(conn)
        conn.close()

    def _dispatch(self, conn: socket.socket, state: _Pending, head: bytes) -> None:
        method, path = _request_line(head)
        if path != "/metrics" or method not in ("GET", "HEAD"):
            # Probes and every other cheap answer: here, never behind a scrape.
            status, body, extra = self._cheap(method, path)
            _answer(conn, status, body, method, extra)
            return
        if not self._slots.acquire(blocking=False):
            self._refused += 1
            if self._on_refused is not None:
                self._on_refused()
            _answer(conn, "503 Service Unavailable", b"busy: too many scrapes at once\n",
                    method)
            return
        worker = threading.Thread(target=self._work, args=(conn, state, head),
                                  name="http-scrape", daemon=True)
        try:
            worker.start()
        except RuntimeError:  # no thread could be started
            self._slots.release()
            _answer(conn, "503 Service Unavailable", b"busy\n", method)

    def _cheap(self, method: str, path: str) -> tuple[str, bytes, list[tuple[str, str]]]:
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", b"use GET or HEAD\n", [("Allow", "GET, HEAD")]
        if path == "/healthz":
            return "200 OK", b"ok\n", []
        if path == "/readyz":
            if self._ready():
                return "200 OK", b"ready\n", []
            return "503 Service Unavailable", b"not ready\n", []
        return "404 Not Found", b"not found: try /metrics, /healthz or /readyz\n", []

    def _work(self, conn: socket.socket, state: _Pending, head: bytes) -> None:
        with self._busy_lock:
            self._busy += 1
        conn.setblocking(True)
        # The rest of the whole-request deadline covers rendering and sending the answer.
        armed = WATCHDOG.arm(conn, state.deadline)
        try:
            _Handler((conn, head), state.address, self.httpd)  # type: ignore[arg-type]
        except Exception:
            self.httpd.handle_error(conn, state.address)
        finally:
            WATCHDOG.disarm(armed)
            if armed.expired and self._on_deadline is not None:
                self._on_deadline("answer")
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
            with self._busy_lock:
                self._busy -= 1
            self._slots.release()


def _head_end(head: bytearray) -> int:
    """Where the request head ends (after its blank line), or -1 while it has not arrived."""
    for terminator in (b"\r\n\r\n", b"\n\n"):
        index = head.find(terminator)
        if index >= 0:
            return index + len(terminator)
    return -1


def _request_line(head: bytes) -> tuple[str, str]:
    """The method and path of a request head ("" for what cannot be read)."""
    line = head.split(b"\n", 1)[0].decode("latin-1").strip()
    parts = line.split()
    if len(parts) < 2:
        return "", ""
    return parts[0], urllib.parse.urlsplit(parts[1]).path


def _answer(conn: socket.socket, status: str, body: bytes, method: str,
            extra: list[tuple[str, str]] | None = None) -> None:
    """Send a small, complete answer and close: it fits the socket's send buffer, so it never
    waits on the client (a client that reads nothing loses it)."""
    lines = [f"HTTP/1.0 {status}", "Content-Type: text/plain; charset=utf-8",
             f"Content-Length: {len(body)}", "Connection: close",
             *(f"{name}: {value}" for name, value in (extra or []))]
    payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if method != "HEAD":
        payload += body
    with contextlib.suppress(OSError):
        conn.send(payload)
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    conn.close()
