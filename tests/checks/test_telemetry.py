"""OpenTelemetry export to a real OTLP/HTTP receiver on loopback; a no-op without OTEL_* env."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from argoscope.checks import Checks
from argoscope.checks.telemetry import enabled

ROOT = Path(__file__).resolve().parents[2]


class Receiver(ThreadingHTTPServer):
    """Keeps every OTLP request body by path."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: dict[str, list[bytes]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.setdefault(self.path, []).append(body)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _step(tmp_path: Path, receiver: Receiver, step: str, node: str, accuracy: float) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "ARGO_WORKFLOW_NAME": "train-abc12",
           "ARGO_NODE_ID": node}
    checks = Checks(step=step, path=tmp_path / step / "checks.json", env=env)
    checks.gate("accuracy", accuracy, ">", 0.85)
    checks.emit(raise_on_failure=False)


def test_spans_of_all_steps_share_the_run_trace_and_carry_results(tmp_path, receiver) -> None:
    _step(tmp_path, receiver, "train", "train-abc12-1", 0.91)
    _step(tmp_path, receiver, "evaluate", "train-abc12-2", 0.5)
    spans = []
    for body in receiver.bodies["/v1/traces"]:
        request = ExportTraceServiceRequest.FromString(body)
        spans += [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert len({span.trace_id for span in spans}) == 1
    checks = {span.name: {a.key: a.value for a in span.attributes} for span in spans
              if span.name.startswith("check ")}
    assert len([s for s in spans if s.name == "check accuracy"]) == 2
    statuses = sorted(a.value.string_value for s in spans if s.name == "check accuracy"
                      for a in s.attributes if a.key == "argoscope.status")
    assert statuses == ["failed", "passed"]
    assert checks["check accuracy"]["argoscope.threshold"].double_value == 0.85


def test_check_values_are_exported_as_metrics(tmp_path, receiver) -> None:
    _step(tmp_path, receiver, "train", "train-abc12-1", 0.91)
    names = {}
    for body in receiver.bodies["/v1/metrics"]:
        request = ExportMetricsServiceRequest.FromString(body)
        for rm in request.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    names[metric.name] = metric
    assert {"argoscope.check.value", "argoscope.check.status",
            "argoscope.check.results"} <= set(names)
    points = names["argoscope.check.value"].gauge.data_points
    assert [p.as_double for p in points] == [0.91]


def test_without_otel_env_nothing_is_imported_or_sent(tmp_path: Path) -> None:
    assert not enabled({}) and not enabled({"OTEL_TRACES_EXPORTER": "none"})
    assert enabled({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x"})
    code = ("import sys; from argoscope.checks import Checks; c = Checks(step='s', path=sys.argv[1]);"
            " c.gate('a', 1.0, '>', 0.5); c.emit(); print('opentelemetry' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = str(ROOT / "src")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "c.json")], env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
