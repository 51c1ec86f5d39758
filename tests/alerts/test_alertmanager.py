"""The shipped Alertmanager config: valid, routed by severity and team, inhibiting as documented.

`amtool check-config` and `amtool config routes test` check the file statically; the
inhibition tests post alerts to a real Alertmanager started with the shipped file and read
back which ones it marks inhibited.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.rules import ALERTMANAGER_CONFIG, ALERTMANAGER_DIR, alerting_rules
from tests.support import servers
from tests.support.net import http_get, wait_until


def _amtool(*args: str) -> subprocess.CompletedProcess[str]:
    amtool = servers.require_binary("amtool")
    return subprocess.run([amtool, *args], capture_output=True, text=True, timeout=60,
                          cwd=ALERTMANAGER_DIR)


def _route(labels: dict[str, str]) -> str:
    result = _amtool("config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}",
                     *(f"{key}={value}" for key, value in labels.items()))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_config_passes_amtool_check_config() -> None:
    result = _amtool("check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(("labels", "receiver"), [
    ({"alertname": "Watchdog", "severity": "info", "team": "platform"}, "watchdog"),
    ({"alertname": "PipelineStepGPULowEfficiency", "severity": "info", "team": "ml"}, "info"),
    ({"alertname": "PipelineRunFailed", "severity": "warning", "team": "ml"}, "ml-warning"),
    ({"alertname": "PipelineFailureRatioHigh", "severity": "critical", "team": "ml"}, "ml-critical"),
    ({"alertname": "ArgoscopeDCGMTargetDown", "severity": "warning", "team": "platform"},
     "platform-warning"),
    ({"alertname": "ArgoscopeExporterDown", "severity": "critical", "team": "platform"},
     "platform-critical"),
    ({"alertname": "SomethingElse", "severity": "critical"}, "default"),
])
def test_routes_by_severity_and_team(labels: dict[str, str], receiver: str) -> None:
    result = _amtool("config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}",
                     f"--verify.receivers={receiver}",
                     *(f"{key}={value}" for key, value in labels.items()))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_shipped_alert_reaches_a_team_receiver() -> None:
    for rule in alerting_rules():
        labels = {"alertname": rule.body["alert"], **rule.body["labels"]}
        assert _route(labels) != "default", f"{labels} falls through to the default receiver"


@pytest.mark.parametrize("name", ["argoscope.slack.title", "argoscope.slack.text",
                                  "argoscope.email.subject", "argoscope.email.html"])
def test_templates_render(name: str) -> None:
    result = _amtool("template", "render", "--template.glob=templates/*.tmpl",
                     "--template.text={{ template \"" + name + "\" . }}")
    assert result.returncode == 0, result.stdout + result.stderr


# --- inhibition, on a real Alertmanager --------------------------------------------------

@pytest.fixture(scope="module")
def alertmanager_url() -> Iterator[str]:
    with servers.alertmanager(ALERTMANAGER_CONFIG) as handle:
        yield handle.url


def _post(url: str, alerts: list[dict[str, dict[str, str]]]) -> None:
    request = urllib.request.Request(f"{url}/api/v2/alerts", data=json.dumps(alerts).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _inhibited(url: str, marker: str) -> dict[str, bool]:
    """alertname/severity/pipeline -> inhibited, for the alerts carrying `marker`."""
    alerts = json.loads(http_get(f"{url}/api/v2/alerts?filter=test%3D%22{marker}%22"))
    return {f"{a['labels']['alertname']}/{a['labels']['severity']}/{a['labels']['pipeline']}":
            bool(a["status"]["inhibitedBy"]) for a in alerts}


def _alert(marker: str, **labels: str) -> dict[str, dict[str, str]]:
    return {"labels": {"test": marker, "namespace": "ml", **labels},
            "annotations": {"summary": "x."}}


def test_failed_run_inhibits_its_pipelines_step_warnings(alertmanager_url: str) -> None:
    marker = "run"
    _post(alertmanager_url, [
        _alert(marker, alertname="PipelineRunFailed", severity="warning", team="ml",
               pipeline="train", workflow="train-1"),
        _alert(marker, alertname="PipelineStepOOMKilled", severity="warning", team="ml",
               pipeline="train", step="fit"),
        _alert(marker, alertname="PipelineStepOOMKilled", severity="warning", team="ml",
               pipeline="etl", step="load"),
        _alert(marker, alertname="PipelineDriftDetected", severity="warning", team="ml",
               pipeline="train", step="drift"),
    ])
    expected = {
        "PipelineRunFailed/warning/train": False,
        "PipelineStepOOMKilled/warning/train": True,   # same pipeline as the failed run
        "PipelineStepOOMKilled/warning/etl": False,    # another pipeline
        "PipelineDriftDetected/warning/train": False,  # not step-level: the cause, kept
    }
    wait_until(lambda: _inhibited(alertmanager_url, marker) == expected, timeout=15,
               what=f"inhibition {expected}")


def test_critical_inhibits_the_warning_of_the_same_alert(alertmanager_url: str) -> None:
    marker = "severity"
    _post(alertmanager_url, [
        _alert(marker, alertname="PipelineFailureRatioHigh", severity="critical", team="ml",
               pipeline="train"),
        _alert(marker, alertname="PipelineFailureRatioHigh", severity="warning", team="ml",
               pipeline="train"),
        _alert(marker, alertname="PipelineFailureRatioHigh", severity="warning", team="ml",
               pipeline="etl"),
        _alert(marker, alertname="PipelineNoRecentSuccess", severity="warning", team="ml",
               pipeline="train"),
    ])
    expected = {
        "PipelineFailureRatioHigh/critical/train": False,
        "PipelineFailureRatioHigh/warning/train": True,
        "PipelineFailureRatioHigh/warning/etl": False,
        "PipelineNoRecentSuccess/warning/train": False,
    }
    wait_until(lambda: _inhibited(alertmanager_url, marker) == expected, timeout=15,
               what=f"inhibition {expected}")


def test_an_slo_page_inhibits_its_own_ticket_only(alertmanager_url: str) -> None:
    """ArgoscopeErrorBudgetBurn is one alert name for every SLO: a page of one SLO silences
    that SLO's ticket, never the ticket of another SLO of the same pipeline."""
    marker = "slo"
    _post(alertmanager_url, [
        _alert(marker, alertname="ArgoscopeErrorBudgetBurn", severity="critical", team="ml",
               pipeline="etl", slo="etl-success"),
        _alert(marker, alertname="ArgoscopeErrorBudgetBurn", severity="warning", team="ml",
               pipeline="etl", slo="etl-success"),
        _alert(marker, alertname="ArgoscopeErrorBudgetBurn", severity="warning", team="ml",
               pipeline="etl", slo="etl-freshness"),
    ])

    def inhibited() -> dict[str, bool]:
        alerts = json.loads(http_get(f"{alertmanager_url}/api/v2/alerts?filter=test%3D%22{marker}%22"))
        return {f"{a['labels']['slo']}/{a['labels']['severity']}": bool(a["status"]["inhibitedBy"])
                for a in alerts}

    expected = {"etl-success/critical": False, "etl-success/warning": True,
                "etl-freshness/warning": False}
    wait_until(lambda: inhibited() == expected, timeout=15, what=f"inhibition {expected}")


def test_groups_by_alertname_namespace_and_pipeline(alertmanager_url: str) -> None:
    """Two steps of one pipeline share a notification group; another pipeline gets its own."""
    marker = "grouping"
    _post(alertmanager_url, [
        _alert(marker, alertname="PipelineStepRetriesClimbing", severity="warning", team="ml",
               pipeline="grp-a", step="fit"),
        _alert(marker, alertname="PipelineStepRetriesClimbing", severity="warning", team="ml",
               pipeline="grp-a", step="eval"),
        _alert(marker, alertname="PipelineStepRetriesClimbing", severity="warning", team="ml",
               pipeline="grp-b", step="fit"),
    ])

    def groups() -> dict[str, tuple[str, int]]:
        body = json.loads(http_get(f"{alertmanager_url}/api/v2/alerts/groups?"
                                   f"filter=test%3D%22{marker}%22"))
        return {group["labels"].get("pipeline", ""): (group["receiver"]["name"], len(group["alerts"]))
                for group in body}

    expected = {"grp-a": ("ml-warning", 2), "grp-b": ("ml-warning", 1)}
    wait_until(lambda: groups() == expected, timeout=15, what=f"groups {expected}")


# --- many clusters: grouping, inhibition and notifications keep clusters apart -------------

def _by_cluster(url: str, marker: str) -> dict[str, bool]:
    """cluster/alertname/severity/pipeline -> inhibited, for the alerts carrying `marker`."""
    alerts = json.loads(http_get(f"{url}/api/v2/alerts?filter=test%3D%22{marker}%22"))
    return {f"{a['labels'].get('cluster', '')}/{a['labels']['alertname']}/"
            f"{a['labels']['severity']}/{a['labels']['pipeline']}": bool(a["status"]["inhibitedBy"])
            for a in alerts}


def test_failed_run_inhibits_step_warnings_of_its_own_cluster_only(alertmanager_url: str) -> None:
    marker = "clusters-run"
    _post(alertmanager_url, [
        _alert(marker, cluster="east", alertname="PipelineRunFailed", severity="warning",
               team="ml", pipeline="train", workflow="train-1"),
        _alert(marker, cluster="east", alertname="PipelineStepOOMKilled", severity="warning",
               team="ml", pipeline="train", step="fit"),
        _alert(marker, cluster="west", alertname="PipelineStepOOMKilled", severity="warning",
               team="ml", pipeline="train", step="fit"),
    ])
    expected = {
        "east/PipelineRunFailed/warning/train": False,
        "east/PipelineStepOOMKilled/warning/train": True,
        "west/PipelineStepOOMKilled/warning/train": False,  # same names, another cluster
    }
    wait_until(lambda: _by_cluster(alertmanager_url, marker) == expected, timeout=15,
               what=f"inhibition {expected}")


def test_critical_inhibits_the_warning_of_its_own_cluster_only(alertmanager_url: str) -> None:
    marker = "clusters-severity"
    _post(alertmanager_url, [
        _alert(marker, cluster="east", alertname="PipelineFailureRatioHigh", severity="critical",
               team="ml", pipeline="train"),
        _alert(marker, cluster="east", alertname="PipelineFailureRatioHigh", severity="warning",
               team="ml", pipeline="train"),
        _alert(marker, cluster="west", alertname="PipelineFailureRatioHigh", severity="warning",
               team="ml", pipeline="train"),
    ])
    expected = {
        "east/PipelineFailureRatioHigh/critical/train": False,
        "east/PipelineFailureRatioHigh/warning/train": True,
        "west/PipelineFailureRatioHigh/warning/train": False,
    }
    wait_until(lambda: _by_cluster(alertmanager_url, marker) == expected, timeout=15,
               what=f"inhibition {expected}")


def test_groups_one_notification_per_cluster(alertmanager_url: str) -> None:
    """The same alert on the same pipeline in two clusters makes two notification groups."""
    marker = "clusters-grouping"
    _post(alertmanager_url, [
        _alert(marker, cluster=cluster, alertname="PipelineStepRetriesClimbing",
               severity="warning", team="ml", pipeline="grp-c", step=step)
        for cluster in ("east", "west") for step in ("fit", "eval")])

    def groups() -> dict[str, int]:
        body = json.loads(http_get(f"{alertmanager_url}/api/v2/alerts/groups?"
                                   f"filter=test%3D%22{marker}%22"))
        return {group["labels"].get("cluster", ""): len(group["alerts"]) for group in body}

    wait_until(lambda: groups() == {"east": 2, "west": 2}, timeout=15,
               what="one group of two alerts per cluster")


def _render(tmp_path: Path, name: str, labels: dict[str, str], dashboard: str) -> str:
    """Render one template with amtool for a notification of one firing alert."""
    alert = {"status": "firing", "labels": labels, "fingerprint": "1",
             "annotations": {"summary": "A pipeline run failed.", "description": "It failed.",
                             "value": "Failed", "runbook_url": "https://runbooks/x",
                             "dashboard": dashboard},
             "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": ""}
    data = {"receiver": "ml-warning", "status": "firing", "alerts": [alert],
            "groupLabels": {}, "commonLabels": labels, "commonAnnotations": {},
            "externalURL": "http://alertmanager"}
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data))
    result = _amtool("template", "render", "--template.glob=templates/*.tmpl",
                     f"--template.data={path}",
                     "--template.text={{ template \"" + name + "\" . }}")
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


LABELS = {"alertname": "PipelineRunFailed", "severity": "warning", "team": "ml",
          "namespace": "ml", "pipeline": "train", "workflow": "train-1"}
DASHBOARD = "/d/argoscope-pipeline?var-namespace=ml&var-pipeline=train"


def test_notifications_name_the_cluster_and_link_its_dashboard(tmp_path: Path) -> None:
    labels = {**LABELS, "cluster": "east"}
    assert "PipelineRunFailed east: ml/train" in _render(tmp_path, "argoscope.slack.title",
                                                         labels, DASHBOARD)
    text = _render(tmp_path, "argoscope.slack.text", labels, DASHBOARD)
    assert "\nCluster: east\n" in text
    assert f"Dashboard: https://grafana.example.org{DASHBOARD}&var-cluster=east\n" in text
    html = _render(tmp_path, "argoscope.email.html", labels, DASHBOARD)
    assert "<tr><th>Cluster</th><td>east</td></tr>" in html
    # A dashboard path without a query string gets one.
    text = _render(tmp_path, "argoscope.slack.text", labels, "/d/argoscope-exporter-health")
    assert "/d/argoscope-exporter-health?var-cluster=east\n" in text


def test_notifications_without_a_cluster_say_nothing_of_it(tmp_path: Path) -> None:
    text = _render(tmp_path, "argoscope.slack.text", LABELS, DASHBOARD)
    assert "Cluster" not in text and "var-cluster" not in text
    assert f"Dashboard: https://grafana.example.org{DASHBOARD}\n" in text
    title = _render(tmp_path, "argoscope.slack.title", LABELS, DASHBOARD)
    assert title.strip() == "[FIRING:1] PipelineRunFailed ml/train"
