"""The HTTP server as a scraper and a misbehaving client see it."""

from __future__ import annotations

import gzip
import http.client
import logging
import socket
import threading
from collections.abc import Iterable, Iterator

import pytest
from prometheus_client.core import GaugeMetricFamily, Metric

from argoscope.exporter.server import MetricsServer, build_registry
from argoscope.exporter.stats import ExporterStats
from tests.support.metrics import samples, value
from tests.support.net import wait_until


def _gauge(name: str, labels: dict[str, str], number: float = 1.0) -> Metric:
    family = GaugeMetricFamily(name, "test", labels=list(labels))
    family.add_metric(list(labels.values()), number)
    return family


@pytest.fixture
def stats() -> ExporterStats:
    return ExporterStats()


def _serve(stats: ExporterStats, *collects: object, **kw: object) -> MetricsServer:
    server = MetricsServer(build_registry(*collects, on_error=stats.collect_error),  # type: ignore[arg-type]
                           "127.0.0.1", 0, lambda: True, on_error=stats.collect_error,
                           **kw)  # type: ignore[arg-type]
    server.start()
    return server


@pytest.fixture
def server(stats: ExporterStats) -> Iterator[MetricsServer]:
    def good() -> Iterable[Metric]:
        return [_gauge("argoscope_test_ok", {"check": "accuracy"})]

    running = _serve(stats, good, stats.collect)
    yield running
    running.stop()


def _request(server: MetricsServer, method: str, path: str, headers: dict[str, str] | None = None
             ) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_gzip_when_the_scraper_accepts_it(server: MetricsServer) -> None:
    status, headers, body = _request(server, "GET", "/metrics",
                                     {"Accept-Encoding": "gzip", "Accept": "text/plain"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert value(gzip.decompress(body).decode(), "argoscope_test_ok", check="accuracy") == 1
    status, headers, body = _request(server, "GET", "/metrics")
    assert "Content-Encoding" not in headers and b"argoscope_test_ok" in body


@pytest.mark.parametrize("path", ["/metrics", "/healthz", "/readyz"])
def test_head_answers_headers_without_a_body(server: MetricsServer, path: str) -> None:
    status, headers, body = _request(server, "HEAD", path)
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) > 0
    assert _request(server, "POST", path)[0] == 405


def test_a_failing_collector_leaves_only_its_own_families_out(stats: ExporterStats) -> None:
    def broken() -> Iterator[Metric]:
        yield _gauge("argoscope_test_partial", {"a": "b"})
        raise RuntimeError("collector bug")

    def good() -> Iterable[Metric]:
        return [_gauge("argoscope_test_ok", {"check": "accuracy"})]

    server = _serve(stats, broken, good, stats.collect)
    try:
        status, _, body = _request(server, "GET", "/metrics")
        assert status == 200
        s = samples(body.decode())
        assert value(s, "argoscope_test_ok", check="accuracy") == 1
        assert not any(name == "argoscope_test_partial" for name, _ in s)
        assert sum(v for (n, ls), v in s.items()
                   if n == "argoscope_exporter_collect_errors_total") == 1
    finally:
        server.stop()


def test_a_label_that_cannot_be_encoded_never_fails_the_scrape(stats: ExporterStats) -> None:
    def odd() -> Iterable[Metric]:  # a value that slipped past every label guard
        return [_gauge("argoscope_test_odd", {"check": "x\ud800"}),
                _gauge("argoscope_test_ok", {"check": "accuracy"})]

    server = _serve(stats, odd, stats.collect)
    try:
        status, _, body = _request(server, "GET", "/metrics")
        assert status == 200
        s = samples(body.decode("utf-8"))
        assert value(s, "argoscope_test_odd", check="x\ufffd") == 1
        assert value(s, "argoscope_test_ok", check="accuracy") == 1
    finally:
        server.stop()


def test_idle_connections_time_out_and_the_cap_refuses_the_excess(stats: ExporterStats
                                                                  ) -> None:
    server = _serve(stats, stats.collect, max_connections=4, connection_timeout=1.0,
                    on_refused=stats.connection_refused)
    idle: list[socket.socket] = []
    try:
        before = threading.active_count()
        for _ in range(4):
            idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        wait_until(lambda: threading.active_count() >= before + 4, what="4 handler threads")
        # The cap is reached: a fifth connection is answered 503 at once, no thread spent.
        status, _, _ = _request(server, "GET", "/metrics")
        assert status == 503 and server.refused == 1
        assert threading.active_count() <= before + 4
        # Idle clients lose their connection after the per-connection timeout ...
        for sock in idle:
            assert sock.recv(1) == b""  # closed by the server
        # ... and the slots are free again; the refusal is counted where a scraper sees it.
        wait_until(lambda: _request(server, "GET", "/metrics")[0] == 200, what="a free slot")
        body = _request(server, "GET", "/metrics")[2].decode("utf-8")
        assert value(samples(body), "argoscope_exporter_http_connections_refused_total") == 1
    finally:
        for sock in idle:
            sock.close()
        server.stop()


def test_a_serving_error_that_is_not_the_client_hanging_up_is_logged(
        stats: ExporterStats, caplog: pytest.LogCaptureFixture) -> None:
    server = _serve(stats, stats.collect)
    try:
        with caplog.at_level(logging.ERROR, logger="argoscope.exporter"):
            try:
                raise OSError("connection reset by peer")
            except OSError:
                server.httpd.handle_error(None, ("127.0.0.1", 1))
            assert not caplog.records  # a client going away is not an error of ours
            try:
                raise KeyError("a bug while serving")
            except KeyError:
                server.httpd.handle_error(None, ("127.0.0.1", 2))
        assert [r.getMessage() for r in caplog.records] == ["error while serving ('127.0.0.1', 2)"]
    finally:
        server.stop()
