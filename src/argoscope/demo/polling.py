"""Waiting for what the demo's runs must produce: the exporter counting them, Prometheus
scraping them, the shipped rules firing and Alertmanager receiving the alerts."""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from argoscope import harness
from argoscope.demo.scenarios import EXPECTED_ALERTS, PIPELINE
from argoscope.demo.services import DemoServices

FINISHED = ("Succeeded", "Failed", "Error")
POLL_INTERVAL = 0.1  # seconds between two looks at a service


def exporter_counted(exporter_url: str, workflows: Set[str]) -> bool:
    """Whether the exporter shows every one of `workflows` as finished."""
    from prometheus_client.parser import text_string_to_metric_families

    seen: set[str] = set()
    for family in text_string_to_metric_families(harness.http_get(exporter_url + "/metrics")):
        if family.name == "argoscope_workflow_run_info":
            seen |= {s.labels.get("workflow", "") for s in family.samples
                     if s.labels.get("phase") in FINISHED}
    return workflows <= seen


def prometheus_scraped(prometheus_url: str, runs: int) -> bool:
    """Whether Prometheus holds at least `runs` runs of the demo's pipeline."""
    result = harness.prometheus_query(
        prometheus_url, f'sum(argoscope_workflow_runs_total{{pipeline="{PIPELINE}"}})')
    return bool(result) and float(result[0]["value"][1]) >= runs


def firing_alerts(prometheus_url: str) -> list[dict[str, Any]]:
    """Alerts Prometheus holds as firing, this pipeline's and the exporter's."""
    return [a for a in harness.prometheus_alerts(prometheus_url) if a.get("state") == "firing"]


def wait_for_metrics(services: DemoServices, workflows: Set[str],
                     timeout: float = 60.0) -> str | None:
    """Wait until the exporter counted `workflows`, then until Prometheus scraped them and
    its rules fired the expected alerts (and Alertmanager received them).

    TimeoutError when the exporter or Prometheus never show the runs; a note to print when
    only the alerts are late (the summary stands without them).
    """
    assert services.exporter is not None
    exporter = services.exporter
    harness.wait_until(lambda: exporter_counted(exporter.url, workflows), timeout,
                       f"the exporter to see {len(workflows)} runs", POLL_INTERVAL)
    if services.prometheus is None:
        return None
    prometheus = services.prometheus
    harness.wait_until(lambda: prometheus_scraped(prometheus.url, len(workflows)), timeout,
                       "Prometheus to scrape the runs", POLL_INTERVAL)
    try:
        harness.wait_until(lambda: {a["labels"]["alertname"] for a in firing_alerts(
            prometheus.url)} >= EXPECTED_ALERTS, timeout, "the expected alerts to fire",
            POLL_INTERVAL)
        if services.alertmanager is not None:
            alertmanager = services.alertmanager
            harness.wait_until(lambda: {a["labels"]["alertname"] for a in harness.alertmanager_alerts(
                alertmanager.url)} >= EXPECTED_ALERTS, timeout,
                "Alertmanager to receive the alerts", POLL_INTERVAL)
    except TimeoutError as error:
        return f"note: {error}"
    return None
