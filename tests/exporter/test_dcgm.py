"""dcgm-exporter parsing (real and hand-made captures), scraping faults and discovery."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from kubernetes import client

from argoscope.exporter import dcgm
from argoscope.exporter.dcgm import (
    MIB,
    SOURCE_DEV,
    SOURCE_PROF,
    ScrapeError,
    discover,
    parse_exposition,
    scrape_all,
    scrape_each,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "dcgm"
KOPS = "cncf-ai-conformance_v1.35_kops_L4_full-scrape.txt"
ERICSSON = "cncf-ai-conformance_v1.35_ericsson-ccd_T4_under-load.txt"
AICR = "nvidia-aicr_H100x8_k8s-pod-attributed_sampled.txt"
AICR_QUERY = "nvidia-aicr_H100x8_prometheus-query_DCGM_FI_DEV_GPU_UTIL.json"


_LINE = b'DCGM_FI_DEV_GPU_UTIL{gpu="0"} 1\n'
# Answers dripped one byte every 0.1 s (each read is quick; the whole takes many seconds), in
# every form a target may use: (sent at once, dripped).
DRIPS: dict[str, tuple[bytes, bytes]] = {
    "drip-http10": (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n", _LINE * 8),
    "drip-close": (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", _LINE * 8),
    "drip-length": (b"HTTP/1.1 200 OK\r\nContent-Length: 256\r\n\r\n", _LINE * 8),
    "drip-chunked": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                     b"".join(b"1\r\n" + bytes([c]) + b"\r\n" for c in _LINE * 8) + b"0\r\n\r\n"),
    "drip-chunk-line": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                        b"1" + b"0" * 200 + b"\r\n"),
    "drip-headers": (b"", b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"),
    "drip-status": (b"HTTP/1.1 200 ", b"O" * 200 + b"K\r\n\r\n"),
}


class DcgmDouble:
    """A loopback HTTP server that answers like dcgm-exporters, well or badly, per path.

    `pages[path]` is the body; `behaviour[path]` is one of ok, slow (holds the answer until the
    double stops), status500, huge (streams chunked text without end marker until the client
    goes), trickle (the body one byte every 0.2 s: every read is quick, the whole is not),
    redirect (302 to `/good`) and garbage is just a body. `/api/v1/pods` and
    `/api/v1/namespaces/<ns>/pods` answer a PodList for discovery (`pod_paths` records them).
    """

    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}
        self.behaviour: dict[str, str] = {}
        self.pod_list: dict[str, Any] = {"kind": "PodList", "apiVersion": "v1",
                                         "metadata": {}, "items": []}
        self.selectors: list[str] = []
        self.pod_paths: list[str] = []
        self.release = threading.Event()
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path == "/api/v1/pods" or (url.path.startswith("/api/v1/namespaces/")
                                                   and url.path.endswith("/pods")):
                    double.pod_paths.append(url.path)
                    double.selectors += parse_qs(url.query).get("labelSelector", [])
                    self._send(json.dumps(double.pod_list).encode(), "application/json")
                    return
                mode = double.behaviour.get(url.path, "ok")
                if mode == "slow":
                    double.release.wait(30)
                if mode == "status500":
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if mode == "huge":
                    self._stream_forever()
                    return
                if mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", "/good")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if mode == "trickle":
                    self._trickle(double.pages.get(url.path, b""))
                    return
                if mode in DRIPS:
                    self._drip(*DRIPS[mode])
                    return
                body = double.pages.get(url.path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._send(body, "text/plain; version=0.0.4")

            def _send(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _trickle(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for index in range(len(body)):
                        self.wfile.write(body[index:index + 1])
                        self.wfile.flush()
                        if double.release.wait(0.2):
                            return
                except OSError:
                    return

            def _drip(self, head: bytes, body: bytes) -> None:
                # Written by hand: each answer kind exactly as a misbehaving target sends it.
                self.close_connection = True
                try:
                    self.wfile.write(head)
                    for index in range(len(body)):
                        self.wfile.write(body[index:index + 1])
                        self.wfile.flush()
                        if double.release.wait(0.1):
                            return
                except OSError:
                    return

            def _stream_forever(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                line = b'DCGM_FI_DEV_GPU_UTIL{gpu="0",Hostname="h"} 1\n' * 256
                try:
                    while not double.release.is_set():
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                except OSError:
                    return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        """The loopback URL of `path`."""
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, text: str | bytes, mode: str = "ok") -> str:
        """Answer `path` with `text` (or misbehave as `mode` says) and return its URL."""
        self.pages[path] = text.encode() if isinstance(text, str) else text
        self.behaviour[path] = mode
        return self.url(path)

    def __enter__(self) -> DcgmDouble:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def double() -> Iterator[DcgmDouble]:
    with DcgmDouble() as server:
        yield server


def honor_labels_page(query_json: Path) -> str:
    """Exposition text of a Prometheus query result: dcgm-exporter series as Prometheus
    ingested them with `honor_labels`, as a federation endpoint would serve them."""
    from prometheus_client import generate_latest
    from prometheus_client.core import GaugeMetricFamily

    result = json.loads(query_json.read_text())["data"]["result"]
    names = sorted({name for item in result for name in item["metric"] if name != "__name__"})

    class Collector:
        def collect(self) -> Iterator[GaugeMetricFamily]:
            family = GaugeMetricFamily(result[0]["metric"]["__name__"], "federated",
                                       labels=names)
            for item in result:
                family.add_metric([item["metric"].get(name, "") for name in names],
                                  float(item["value"][1]))
            yield family

    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    registry.register(Collector())  # type: ignore[arg-type]
    return generate_latest(registry).decode()


# --- parsing --------------------------------------------------------------------------------


def test_full_scrape_without_pod_labels_prefers_profiling_ratio(dcgm_fixtures: Path) -> None:
    [gpu] = parse_exposition((dcgm_fixtures / KOPS).read_text())
    assert gpu.host == "i-030791dc5a37cd257"
    assert gpu.uuid == "GPU-c2f76b33-7953-256e-8f33-1343419b1a1c"
    assert gpu.pod == "" and gpu.namespace == ""
    assert gpu.source == SOURCE_PROF


def test_profiling_ratio_wins_over_coarse_util_without_mixing_scales(dcgm_fixtures: Path) -> None:
    # The real T4 page says GPU_UTIL 91 (percent) and GR_ENGINE_ACTIVE 0.156205 (ratio).
    [gpu] = parse_exposition((dcgm_fixtures / ERICSSON).read_text())
    assert gpu.utilization == pytest.approx(0.156205)
    assert gpu.source == SOURCE_PROF
    assert gpu.memory_bytes == 5120 * MIB


def test_coarse_util_is_a_percentage_divided_by_100() -> None:
    gpus = {g.gpu: g for g in parse_exposition((DATA / "two_gpus.txt").read_text())}
    assert gpus["0"].utilization == pytest.approx(0.80)
    assert gpus["1"].utilization == pytest.approx(0.40)
    assert {g.source for g in gpus.values()} == {SOURCE_DEV}


def test_pod_attributed_sample_with_empty_pod_uid(dcgm_fixtures: Path) -> None:
    gpus = parse_exposition((dcgm_fixtures / AICR).read_text())
    assert len(gpus) == 8
    held = [g for g in gpus if g.pod]
    assert [(g.namespace, g.pod, g.container, g.gpu) for g in held] == [
        ("dynamo-workload", "vllm-agg-0-vllmdecodeworker-s65j5", "main", "0")]
    # FB_USED is not in this sampled page: memory is unknown, not zero.
    assert all(g.memory_bytes is None for g in gpus)


def test_old_label_names_are_aliases() -> None:
    gpus = {g.gpu: g for g in parse_exposition((DATA / "two_gpus.txt").read_text())}
    assert gpus["0"].host == "l40s-node"
    assert gpus["0"].uuid == "GPU-aaaaaaaa-0000-0000-0000-000000000000"
    assert (gpus["0"].namespace, gpus["0"].pod, gpus["0"].container) == (
        "ml", "big-run-train", "main")
    assert gpus["1"].pod == "big-run-train"
    assert gpus["0"].memory_bytes == 10240 * MIB


def test_blank_sentinel_is_no_value() -> None:
    gpus = {g.gpu: g for g in parse_exposition((DATA / "two_gpus.txt").read_text())}
    assert gpus["2"].memory_bytes is None
    assert gpus["2"].utilization == 0.0


def test_mig_instances_are_separate_gpus() -> None:
    gpus = {g.gpu: g for g in parse_exposition((DATA / "mig.txt").read_text())}
    assert set(gpus) == {"0/1", "0/2", "0/3"}
    assert gpus["0/1"].profile == "1g.10gb" and gpus["0/3"].profile == "2g.20gb"
    assert gpus["0/1"].pod == "mig-run-a" and gpus["0/2"].pod == "mig-run-b"
    assert gpus["0/1"].utilization == pytest.approx(0.75)
    assert gpus["0/1"].memory_bytes == 2048 * MIB


@pytest.mark.parametrize("body", ["<html><body>502 Bad Gateway</body></html>",
                                  "DCGM_FI_DEV_GPU_UTIL{gpu=\"0\" 12\n",
                                  "hello world\n"])
def test_garbage_is_a_clear_error(body: str) -> None:
    with pytest.raises(ScrapeError) as error:
        parse_exposition(body, "http://127.0.0.1:1/metrics")
    assert error.value.reason == dcgm.REASON_GARBAGE
    assert "http://127.0.0.1:1/metrics" in str(error.value)


def test_page_without_gpu_families_has_no_gpus() -> None:
    assert parse_exposition("# TYPE up gauge\nup 1\n") == []


# --- scraping -------------------------------------------------------------------------------


def test_real_captures_over_http(double: DcgmDouble, dcgm_fixtures: Path) -> None:
    urls = [double.serve(f"/{name}", (dcgm_fixtures / name).read_text())
            for name in (KOPS, ERICSSON, AICR)]
    results = scrape_all(urls, timeout=5)
    assert [r.target for r in results] == urls
    assert all(r.ok for r in results), [r.error for r in results]
    assert [len(r.samples) for r in results] == [1, 1, 8]


def test_faults_are_isolated_per_target(double: DcgmDouble) -> None:
    good = double.serve("/good", (DATA / "mig.txt").read_text())
    slow = double.serve("/slow", "", mode="slow")
    garbage = double.serve("/garbage", "<html>oops</html>")
    huge = double.serve("/huge", "", mode="huge")
    failing = double.serve("/500", "", mode="status500")
    down = f"http://127.0.0.1:{_closed_port()}/metrics"
    results = {r.target: r for r in scrape_all([good, slow, garbage, huge, failing, down],
                                               timeout=0.5, max_bytes=64 * 1024)}
    assert results[good].ok and len(results[good].samples) == 3
    reasons = {url: r.error.reason for url, r in results.items() if r.error is not None}
    assert reasons == {slow: "timeout", garbage: "garbage", huge: "too_large",
                       failing: "down", down: "down"}


def test_a_body_at_the_limit_is_accepted_and_one_byte_more_is_not(double: DcgmDouble) -> None:
    text = (DATA / "two_gpus.txt").read_text()
    url = double.serve("/exact", text)
    size = len(text.encode())
    assert scrape_all([url], timeout=5, max_bytes=size)[0].ok
    error = scrape_all([url], timeout=5, max_bytes=size - 1)[0].error
    assert error is not None and error.reason == "too_large"


def _closed_port() -> int:
    from tests.support.net import free_port

    return free_port()


# --- discovery ------------------------------------------------------------------------------


def _pod(name: str, ip: str | None, phase: str = "Running") -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if ip:
        status["podIP"] = ip
    return {"metadata": {"name": name, "namespace": "gpu-operator"}, "status": status}


def core_api(double: DcgmDouble) -> client.CoreV1Api:
    """A real kubernetes client pointed at the double's API."""
    configuration = client.Configuration()
    configuration.host = double.url("")
    return client.CoreV1Api(client.ApiClient(configuration))


def test_discovery_lists_running_exporter_pods(double: DcgmDouble) -> None:
    double.pod_list["items"] = [_pod("dcgm-b", "10.0.0.2"), _pod("dcgm-a", "10.0.0.1"),
                                _pod("dcgm-starting", None, "Pending"),
                                _pod("dcgm-v6", "fd00::5")]
    found = discover(core_api(double), "app=nvidia-dcgm-exporter")
    assert double.selectors == ["app=nvidia-dcgm-exporter"]
    assert [(t.url, t.pod) for t in found] == [
        ("http://10.0.0.1:9400/metrics", "dcgm-a"),
        ("http://10.0.0.2:9400/metrics", "dcgm-b"),
        ("http://[fd00::5]:9400/metrics", "dcgm-v6")]


def test_the_timeout_is_a_deadline_for_the_whole_scrape(double: DcgmDouble) -> None:
    # 40 bytes at one per 0.2 s: each read is quick, the whole takes 8 s; the deadline is 1 s.
    trickle = double.serve("/trickle", 'DCGM_FI_DEV_GPU_UTIL{gpu="0"} 1\n' + "#" * 8,
                           mode="trickle")
    error = scrape_all([trickle], timeout=1.0)[0].error
    assert error is not None and error.reason == "timeout"


@pytest.mark.parametrize("mode", sorted(DRIPS))
def test_the_deadline_holds_for_every_answer_kind(double: DcgmDouble, mode: str) -> None:
    # HTTP/1.0 and `Connection: close` detach the socket from http.client's connection;
    # dripped header, status and chunk-size lines are each read in a single call.
    url = double.serve(f"/{mode}", "", mode=mode)
    result = scrape_all([url], timeout=0.5)[0]
    assert result.error is not None and result.error.reason == "timeout", result
    assert result.duration < 10  # cut near the deadline, not when the drip ended


def test_results_arrive_as_each_target_answers(double: DcgmDouble) -> None:
    good = double.serve("/good", (DATA / "mig.txt").read_text())
    slow = double.serve("/slow", "", mode="slow")
    results = scrape_each([slow, good], timeout=5)
    first = next(results)
    # The slow target is still holding its answer: the good one came first anyway.
    assert first.target == good and first.ok and not double.release.is_set()
    double.release.set()
    assert next(results).target == slow


def test_redirects_are_refused_not_followed(double: DcgmDouble) -> None:
    double.serve("/good", (DATA / "mig.txt").read_text())
    moved = double.serve("/moved", "", mode="redirect")
    error = scrape_all([moved], timeout=5)[0].error
    assert error is not None and error.reason == "redirect" and "/good" in error.detail


def test_discovery_in_one_namespace_lists_only_that_namespace(double: DcgmDouble) -> None:
    double.pod_list["items"] = [_pod("dcgm-a", "10.0.0.1")]
    found = discover(core_api(double), "app=nvidia-dcgm-exporter", namespace="gpu-operator")
    assert double.pod_paths == ["/api/v1/namespaces/gpu-operator/pods"]
    assert [t.pod for t in found] == ["dcgm-a"]
