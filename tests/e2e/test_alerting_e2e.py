"""End to end: the exporter following a local state directory, Prometheus with the shipped
rules, Alertmanager with the shipped config, and a loopback receiver.

Only what cannot work on loopback in seconds is changed, in temporary copies: every `for:`
of the rules becomes 1s (the signals are the same, the waits shorter), Alertmanager's
timers are shortened, its receiver URLs (webhook, Slack URL file, SMTP smarthost) point at
loopback, and templates/argoscope-urls.tmpl gets test base URLs, which also proves that
the links follow that one file. The alerts, expressions, routes, inhibitions and templates
are the shipped ones.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.alerts.rules import ALERTMANAGER_CONFIG, ALERTMANAGER_DIR, REPO, RULE_FILES
from tests.support import servers
from tests.support.net import free_port, http_get, serving, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NAMESPACE = "ml"
ARGO_URL = "http://argo.test"
GRAFANA_URL = "http://grafana.test"
RETENTION_SECONDS = 20  # a finished run leaves the recent-runs family (and its alert resolves)


# --- the loopback receiver ---------------------------------------------------------------

@dataclass
class Received:
    """Everything Alertmanager posted, by path (one path per receiver, plus /slack)."""

    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.posts.append((path, body))

    def webhook_alerts(self) -> list[tuple[str, dict[str, Any]]]:
        """(receiver, alert) for every alert of every webhook notification so far."""
        with self.lock:
            return [(body["receiver"], alert) for path, body in self.posts if path != "/slack"
                    for alert in body["alerts"]]

    def slack(self) -> list[dict[str, Any]]:
        with self.lock:
            return [body for path, body in self.posts if path == "/slack"]


@pytest.fixture
def receiver() -> Iterator[tuple[str, Received]]:
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            received.add(self.path, json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, received


# --- test copies of the shipped files ------------------------------------------------------

def _short_rules(target: Path) -> list[Path]:
    """Copies of the rule files with every `for:` shortened to 1s (only that changes)."""
    copies = []
    for path in RULE_FILES:
        text = re.sub(r"^(\s+for:) \S+$", r"\1 1s", path.read_text(), flags=re.MULTILINE)
        copy = target / path.name
        copy.write_text(text)
        copies.append(copy)
    return copies


def _shorten_routes(route: dict[str, Any]) -> None:
    route["group_wait"] = "1s"
    route["group_interval"] = "1s"
    # The Watchdog repeats every second: its notifications are the test's clock.
    route["repeat_interval"] = "1s" if route.get("receiver") == "watchdog" else "1h"
    for child in route.get("routes", []):
        _shorten_routes(child)


def _loopback_alertmanager_config(target: Path, receiver_url: str) -> Path:
    """A copy of the shipped config whose receivers and base URLs point at the test."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    templates = target / "templates"
    shutil.copytree(ALERTMANAGER_DIR / "templates", templates)
    urls = templates / "argoscope-urls.tmpl"
    urls.write_text(urls.read_text().replace("https://argo.example.org", ARGO_URL)
                    .replace("https://grafana.example.org", GRAFANA_URL))
    slack_url_file = target / "slack-webhook-url"
    slack_url_file.write_text(f"{receiver_url}/slack\n")
    config["global"]["slack_api_url_file"] = str(slack_url_file)
    config["global"]["smtp_smarthost"] = f"127.0.0.1:{free_port()}"  # nothing listens: mail fails
    config["global"]["smtp_require_tls"] = False
    config["templates"] = [str(templates / "*.tmpl")]
    _shorten_routes(config["route"])
    for entry in config["receivers"]:
        for webhook in entry.get("webhook_configs", []):
            webhook["url"] = f"{receiver_url}/{entry['name']}"
    path = target / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return path


# --- Workflow objects in the state directory -------------------------------------------------

def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _node(node_id: str, display: str, phase: str, started: datetime,
          finished: datetime | None = None, message: str = "") -> dict[str, Any]:
    node: dict[str, Any] = {"id": node_id, "name": display, "displayName": display,
                            "type": "Pod", "templateName": display.split("(")[0],
                            "phase": phase, "startedAt": _time(started)}
    if finished is not None:
        node["finishedAt"] = _time(finished)
    if message:
        node["message"] = message
    return node


def _workflow(name: str, pipeline: str, phase: str, nodes: list[dict[str, Any]],
              started: datetime, finished: datetime | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase, "startedAt": _time(started),
                              "nodes": {node["id"]: node for node in nodes}}
    if finished is not None:
        status["finishedAt"] = _time(finished)
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": name, "namespace": NAMESPACE, "uid": f"uid-{name}",
                         "creationTimestamp": _time(started)},
            "spec": {"workflowTemplateRef": {"name": pipeline}},
            "status": status}


def _write(state: Path, workflow: dict[str, Any]) -> None:
    """Replace the run's file atomically, as the local runner does."""
    path = state / "workflows" / f"{workflow['metadata']['name']}.json"
    partial = path.with_suffix(".json.tmp")
    partial.write_text(json.dumps(workflow))
    os.replace(partial, path)


# --- the test ------------------------------------------------------------------------------

def _firing(received: Received, alertname: str, pipeline: str | None = None,
            status: str = "firing") -> list[tuple[str, dict[str, Any]]]:
    return [(name, alert) for name, alert in received.webhook_alerts()
            if alert["labels"]["alertname"] == alertname and alert["status"] == status
            and (pipeline is None or alert["labels"].get("pipeline") == pipeline)]


def _am_alerts(am_url: str, alertname: str) -> list[dict[str, Any]]:
    query = f"filter=alertname%3D%22{alertname}%22"
    return list(json.loads(http_get(f"{am_url}/api/v2/alerts?{query}")))


def test_alerts_arrive_inhibited_ones_do_not_and_resolutions_follow(
        tmp_path: Path, receiver: tuple[str, Received]) -> None:
    receiver_url, received = receiver
    state = tmp_path / "state"
    (state / "workflows").mkdir(parents=True)
    rules = _short_rules(tmp_path)
    am_config = _loopback_alertmanager_config(tmp_path, receiver_url)

    with servers.exporter(["--source", f"local:{state}",
                           "--recent-runs-retention", f"{RETENTION_SECONDS}s"]) as exporter, \
            servers.alertmanager(am_config) as alertmanager:
        prom_config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": "argoscope",
                                "static_configs": [{"targets": [exporter.url[len("http://"):]]}]}],
            "alerting": {"alertmanagers": [
                {"static_configs": [{"targets": [alertmanager.url[len("http://"):]]}]}]},
        }
        with servers.prometheus(prom_config, rules,
                                extra_args=["--rules.alert.resend-delay=1s"]) as prometheus:
            now = datetime.now(UTC)
            start = now - timedelta(minutes=5)
            # Live runs first, so what follows is seen happening (counted, not history).
            _write(state, _workflow("train-run1", "train", "Running",
                                    [_node("train-run1-1", "fit", "Running", start)], start))
            wait_until(lambda: servers.query(
                prometheus.url, 'argoscope_workflow_run_info{workflow="train-run1"}'),
                timeout=30, what="the running run in Prometheus")

            # train: the run fails because its step was OOMKilled.
            _write(state, _workflow("train-run1", "train", "Failed", [
                _node("train-run1-1", "fit", "Failed", start, now, "OOMKilled (exit code 137)")],
                start, now))
            # etl: the run succeeds after its step was OOMKilled once and retried.
            etl_nodes = [
                {"id": "etl-run1-r", "name": "load", "displayName": "load", "type": "Retry",
                 "templateName": "load", "phase": "Succeeded", "startedAt": _time(start),
                 "finishedAt": _time(now), "children": ["etl-run1-1", "etl-run1-2"]},
                _node("etl-run1-1", "load(0)", "Failed", start, start + timedelta(minutes=1),
                      "OOMKilled (exit code 137)"),
                _node("etl-run1-2", "load(1)", "Succeeded", start + timedelta(minutes=1), now),
                _node("etl-run1-3", "validate", "Succeeded", start, now),
            ]
            # Its validate step reports a failed expectation and a passed drift check.
            etl_nodes[-1]["outputs"] = {"parameters": [{"name": "argoscope-checks", "value": json.dumps(
                {"schema": "argoscope.checks/v1", "results": [
                    {"check": "no_null_labels", "kind": "expectation", "status": "failed",
                     "value": 3.0, "threshold": 0.0},
                    {"check": "input_drift", "kind": "drift", "status": "passed",
                     "value": 0.1, "threshold": 0.5}]})}]}
            _write(state, _workflow("etl-run1", "etl", "Succeeded", etl_nodes, start, now))
            # flaky: three runs, all failed: the failure ratio is past both thresholds.
            for index in range(3):
                name = f"flaky-run{index}"
                _write(state, _workflow(name, "flaky", "Failed", [
                    _node(f"{name}-1", "score", "Failed", start, now, "Error (exit code 1)")],
                    start, now))

            def arrived() -> bool:
                return bool(_firing(received, "PipelineRunFailed", "train")
                            and _firing(received, "PipelineStepOOMKilled", "etl")
                            and _firing(received, "PipelineFailureRatioHigh", "flaky")
                            and _firing(received, "PipelineDataQualityCheckFailed", "etl"))

            wait_until(arrived, timeout=60, what=f"alerts at the receiver: {received.posts}")

            # The failed run arrives at the ML team's receiver, naming the run.
            [(name, alert)] = _firing(received, "PipelineRunFailed", "train")[:1]
            assert name == "ml-warning"
            labels = alert["labels"]
            assert {key: labels.get(key) for key in
                    ("namespace", "pipeline", "workflow", "phase", "severity", "team")} == {
                "namespace": NAMESPACE, "pipeline": "train", "workflow": "train-run1",
                "phase": "Failed", "severity": "warning", "team": "ml"}
            annotations = alert["annotations"]
            assert "train-run1" in annotations["description"]
            assert annotations["dashboard"] == \
                f"/d/argoscope-pipeline?var-namespace={NAMESPACE}&var-pipeline=train"
            runbook = annotations["runbook_url"].rsplit("/docs/runbooks/", 1)[1]
            assert (REPO / "docs" / "runbooks" / runbook).is_file()

            # A step warning of a pipeline whose run did not fail is delivered.
            [(name, oom)] = _firing(received, "PipelineStepOOMKilled", "etl")[:1]
            assert name == "ml-warning"
            assert (oom["labels"]["step"], oom["labels"]["reason"]) == ("load", "OOMKilled")

            # The failed expectation arrives with its check and value; the passed drift check
            # raises nothing.
            [(name, check)] = _firing(received, "PipelineDataQualityCheckFailed", "etl")[:1]
            assert name == "ml-warning"
            assert (check["labels"]["step"], check["labels"]["check"]) == ("validate", "no_null_labels")
            assert check["annotations"]["value"] == "3"
            assert _firing(received, "PipelineDriftDetected") == []

            # The critical failure ratio reaches the on-call receiver.
            ratio = _firing(received, "PipelineFailureRatioHigh", "flaky")
            assert {(name, alert["labels"]["severity"]) for name, alert in ratio} == \
                {("ml-critical", "critical")}

            # Several Alertmanager flushes later, the inhibited alerts have still not arrived,
            # though Alertmanager holds them: the failed run's own step warning, and the
            # warning twin of the critical ratio alert.
            watchdogs = len(_firing(received, "Watchdog"))
            wait_until(lambda: len(_firing(received, "Watchdog")) >= watchdogs + 3, timeout=30,
                       what="three more Watchdog notifications")
            assert _firing(received, "PipelineStepOOMKilled", "train") == []
            assert [alert for _, alert in _firing(received, "PipelineFailureRatioHigh", "flaky")
                    if alert["labels"]["severity"] == "warning"] == []
            held = {(alert["labels"]["pipeline"], alert["labels"]["severity"]):
                    bool(alert["status"]["inhibitedBy"])
                    for name in ("PipelineStepOOMKilled", "PipelineFailureRatioHigh")
                    for alert in _am_alerts(alertmanager.url, name)}
            assert held[("train", "warning")] is True
            assert held[("etl", "warning")] is False
            assert held[("flaky", "warning")] is True
            assert held[("flaky", "critical")] is False

            # The Slack notification carries the pipeline, step, run, value and links built
            # from the configured base URLs.
            texts = [attachment["text"] for body in received.slack()
                     for attachment in body.get("attachments", [])]
            train = [text for text in texts if "Run: train-run1" in text]
            assert train, texts
            assert "Pipeline: ml/train" in train[0]
            assert "Step: load" in "\n".join(texts)
            assert "Value: Failed" in train[0]
            assert f"Argo: {ARGO_URL}/workflows/ml/train-run1" in train[0]
            assert f"Dashboard: {GRAFANA_URL}/d/argoscope-pipeline?var-namespace=ml" in train[0]
            assert "Runbook: https://github.com/argoscope/argoscope/blob/main/docs/runbooks/" \
                "PipelineRunFailed.md" in train[0]

            # Once the failed run leaves the recent-runs window, the resolution follows.
            wait_until(lambda: _firing(received, "PipelineRunFailed", "train", "resolved"),
                       timeout=RETENTION_SECONDS + 45,
                       what="the resolved notification of PipelineRunFailed")
            [(name, resolved)] = _firing(received, "PipelineRunFailed", "train", "resolved")[:1]
            assert name == "ml-warning"
            assert resolved["labels"]["workflow"] == "train-run1"
