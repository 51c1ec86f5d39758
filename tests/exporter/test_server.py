"""The HTTP server as a scraper and a misbehaving client see it."""

from __future__ import annotations

import gzip
import http.client
import itertools
import logging
import socket
import threading
from collections.abc import Iterable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.core import GaugeMetricFamily, Metric

from argoscope.exporter.server import MAX_HEAD_BYTES, MetricsServer, build_registry
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


def _trickle(port: int, stop: threading.Event, cut: list[bool]) -> None:
    """A slowloris client: one header byte at a time, for as long as the server lets it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        for byte in b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                cut.append(True)
                return
            # The server answers a cut by closing: a read that sees EOF says so at once.
            sock.settimeout(0.1)
            try:
                if sock.recv(1) == b"":
                    cut.append(True)
                    return
            except TimeoutError:
                pass
            except OSError:
                cut.append(True)
                return
            if stop.wait(0.05):
                return
    finally:
        sock.close()


def test_trickling_clients_hold_no_slot_and_are_cut_at_the_request_deadline(
        stats: ExporterStats) -> None:
    # Twice as many trickling clients as worker slots, each sending a byte every ~0.15 s:
    # every single read is quick, so only a whole-request deadline can end them.
    server = _serve(stats, stats.collect, max_connections=4, request_timeout=1.0,
                    on_refused=stats.connection_refused, on_deadline=stats.http_deadline)
    stop = threading.Event()
    cut: list[bool] = []
    clients = [threading.Thread(target=_trickle, args=(server.port, stop, cut), daemon=True)
               for _ in range(8)]
    try:
        for client in clients:
            client.start()
        # While they trickle, scrapes and probes are answered.
        for path in ("/metrics", "/healthz", "/readyz", "/metrics"):
            assert _request(server, "GET", path)[0] == 200, path
        for client in clients:
            client.join(timeout=20)
        assert len(cut) == 8, "a trickling client was never cut"
        body = _request(server, "GET", "/metrics")[2].decode("utf-8")
        assert value(samples(body), "argoscope_exporter_http_deadline_exceeded_total",
                     phase="head") == 8
        assert server.refused == 0
    finally:
        stop.set()
        server.stop()


def test_probes_never_wait_behind_scrapes_and_concurrent_scrapes_share_one_rendering(
        stats: ExporterStats) -> None:
    entered = threading.Event()
    release = threading.Event()

    def slow() -> Iterable[Metric]:
        entered.set()
        release.wait(20)
        return [_gauge("argoscope_test_ok", {"check": "accuracy"})]

    server = _serve(stats, slow, stats.collect, max_connections=4,
                    on_refused=stats.connection_refused)
    answers: list[int] = []
    scrapes = [threading.Thread(target=lambda: answers.append(
        _request(server, "GET", "/metrics")[0]), daemon=True) for _ in range(4)]
    try:
        for scrape in scrapes:
            scrape.start()
        assert entered.wait(10)
        wait_until(lambda: server.busy == 4, what="four scrapes in progress")
        # Every worker is busy: a fifth scrape is refused at once, probes are answered.
        assert _request(server, "GET", "/metrics")[0] == 503
        assert _request(server, "GET", "/healthz")[0] == 200
        assert _request(server, "GET", "/readyz")[0] == 200
        assert _request(server, "HEAD", "/healthz")[0] == 200
        release.set()
        for scrape in scrapes:
            scrape.join(timeout=20)
        assert answers == [200] * 4
        assert server.renders == 1  # four scrapes, one rendering
        body = _request(server, "GET", "/metrics")[2].decode("utf-8")
        assert value(samples(body), "argoscope_exporter_http_connections_refused_total") == 1
    finally:
        release.set()
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


def test_a_client_that_does_not_read_the_answer_is_cut_at_the_deadline(
        stats: ExporterStats) -> None:
    # An exposition far larger than the socket buffers, asked for by a client that then reads
    # nothing: the worker is blocked sending until the deadline cuts the connection.
    def big() -> Iterable[Metric]:
        family = GaugeMetricFamily("argoscope_test_big", "test", labels=["check"])
        for i in range(40_000):  # 16 MiB: more than both sockets' buffers
            family.add_metric([f"{i:0>400}"], 1.0)
        return [family]

    server = _serve(stats, big, stats.collect, request_timeout=1.0,
                    on_deadline=stats.http_deadline)
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(("127.0.0.1", server.port))
        client.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_until(lambda: stats.http_deadlines.get(("answer",)) == 1, timeout=30,
                   what="the unread answer cut at the deadline")
        wait_until(lambda: server.busy == 0, what="the worker freed")
        assert _request(server, "GET", "/healthz")[0] == 200
    finally:
        client.close()
        server.stop()


@settings(max_examples=30, deadline=None)
@given(padding=st.one_of(st.integers(0, 200), st.integers(15_000, 20_000)),
       cuts=st.lists(st.integers(0, 20_500), max_size=6),
       path=st.sampled_from(["/healthz", "/readyz", "/metrics", "/nowhere"]))
def test_a_request_head_in_any_pieces_and_of_any_size_gets_its_answer(
        padding: int, cuts: list[int], path: str) -> None:
    # However a head is cut into pieces, it is answered as a whole; past the head limit it is
    # refused with 431, never buffered further.
    head = (f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Pad: {'p' * padding}\r\n\r\n").encode()
    bounds = sorted({0, len(head), *(c for c in cuts if c < len(head))})
    stats = ExporterStats()
    server = _serve(stats, stats.collect, request_timeout=10.0)
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            try:
                for start, end in itertools.pairwise(bounds):
                    sock.sendall(head[start:end])
            except OSError:
                pass  # refused part-way: the answer is already there
            answer = b""
            try:
                while chunk := sock.recv(65536):
                    answer += chunk
            except ConnectionResetError:
                # Closed with part of an oversized head unread: the kernel may reset the
                # connection before the client reads the 431.
                assert len(head) > MAX_HEAD_BYTES
                answer = answer or b"HTTP/1.0 431 reset"
        status = int(answer.split(b" ", 2)[1])
        if len(head) > MAX_HEAD_BYTES:
            assert status == 431
        else:
            assert status == {"/nowhere": 404}.get(path, 200)
    finally:
        server.stop()


def test_past_the_pending_bound_the_oldest_silent_connection_gives_way(
        stats: ExporterStats) -> None:
    server = _serve(stats, stats.collect, max_pending=4)
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(6)]
    try:
        # Six silent connections against a bound of four: the two oldest are closed ...
        for sock in idle[:2]:
            assert sock.recv(1) == b""
        # ... and a scraper arriving now is still answered, the newest silent ones kept.
        assert _request(server, "GET", "/metrics")[0] == 200
        assert _request(server, "GET", "/healthz")[0] == 200
        idle[-1].sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        assert idle[-1].recv(64).startswith(b"HTTP/1.0 200")
    finally:
        for sock in idle:
            sock.close()
        server.stop()


def test_a_failing_readiness_check_drops_its_request_not_the_server(
        caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> bool:
        raise RuntimeError("readiness bug")

    server = MetricsServer(build_registry(), "127.0.0.1", 0, broken)
    server.start()
    try:
        with (caplog.at_level(logging.ERROR, logger="argoscope.exporter"),
              pytest.raises((http.client.HTTPException, ConnectionError))):
            _request(server, "GET", "/readyz")
        assert _request(server, "GET", "/healthz")[0] == 200
        assert _request(server, "GET", "/metrics")[0] == 200
        assert any("request head" in r.getMessage() for r in caplog.records)
    finally:
        server.stop()
