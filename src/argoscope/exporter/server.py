"""The exporter's HTTP endpoints: `/metrics`, `/healthz`, `/readyz`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector


class _FunctionCollector(Collector):
    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterable[Metric]:
        return self._collect()


def build_registry(*collects: Callable[[], Iterable[Metric]]) -> CollectorRegistry:
    """A registry whose collectors build fresh families from the given functions per scrape."""
    registry = CollectorRegistry(auto_describe=False)
    for collect in collects:
        registry.register(_FunctionCollector(collect))
    return registry


class MetricsServer:
    """A small threaded HTTP server; `ready` decides what `/readyz` answers."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int,
                 ready: Callable[[], bool]) -> None:
        self.registry = registry
        self._ready = ready
        handler = self._handler_class()
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when asked for port 0)."""
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path == "/metrics":
                    encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
                    try:
                        body = encoder(server.registry)
                    except Exception as error:  # a collector bug must not kill the server
                        self._send(500, f"collect failed: {error}\n".encode(), "text/plain")
                        return
                    self._send(200, body, content_type)
                elif path == "/healthz":
                    self._send(200, b"ok\n", "text/plain")
                elif path == "/readyz":
                    ok = server._ready()
                    self._send(200 if ok else 503, b"ready\n" if ok else b"not ready\n",
                               "text/plain")
                else:
                    self._send(404, b"not found: try /metrics, /healthz or /readyz\n",
                               "text/plain")

            def _send(self, code: int, body: bytes, content_type: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # scrapes every few seconds would flood the log

        return Handler
