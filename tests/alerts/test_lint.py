"""Every shipped rule follows the conventions of DESIGN.md, checked the way mixtool lints mixins.

Alerts: CamelCase names; `severity` critical | warning | info and a `team` the Alertmanager
routes know; a one-sentence, untemplated `summary`; a templated `description` and `value`; a
`runbook_url` that resolves to a page in docs/runbooks; a `dashboard` path to a shipped
dashboard whose variables exist; a `for:` that fits the signal. Recording rules:
`level:metric:operations`. Every selector names an exporter family or a recorded series.
Every aggregation and vector match keeps `cluster`, so that a central Prometheus fed by many
clusters evaluates the rules per cluster.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import promql_parser
import pytest

from argoscope.exporter.families import all_families
from tests.alerts.rules import REPO, RUNBOOK_BASE, RUNBOOKS, Rule, alerting_rules, recording_rules
from tests.support.grouping import dropped

SEVERITIES = {"critical", "warning", "info"}
TEAMS = {"ml", "platform"}
ANNOTATIONS = {"summary", "description", "value", "runbook_url", "dashboard"}
CAMEL_CASE = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)*$")
RECORD_NAME = re.compile(r"^(?P<level>[a-z][a-z_]*):(?P<metric>[a-z][a-z0-9_]*):(?P<ops>[a-z0-9_]+)$")
TEMPLATE = re.compile(r"\{\{.*?(\$labels\.\w+|\$value).*?\}\}")
# Signals that are events or latest results: an alert on them fires at once (`for: 0m`).
EVENT_SIGNAL = re.compile(r"increase|argoscope_workflow_run_info|argoscope_check_")
DURATION = re.compile(r"^(\d+)([smhd])$")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The level of the records `argoscope slo generate` writes (argoscope.slo.records).
SLO_LEVEL = "argoscope_slo"
# Families other than the exporter's that the alerts may read.
OUTSIDE_METRICS = {"up"}

ALERTS = alerting_rules()
RECORDS = recording_rules()


def _ids(rules: list[Rule]) -> list[str]:
    return [f"{rule.body.get('alert') or rule.body.get('record')}-{index}"
            for index, rule in enumerate(rules)]


def _selectors(expr: str) -> Iterator[str]:
    names: list[str] = []

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.append(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return iter(names)


def _exposed_names() -> set[str]:
    names = set()
    for family in all_families():
        names.add(family.exposed_name)
        if family.kind == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_sum", "_count"))
    return names


@pytest.mark.parametrize("rule", ALERTS, ids=_ids(ALERTS))
def test_alert_name_and_labels(rule: Rule) -> None:
    body = rule.body
    assert CAMEL_CASE.match(body["alert"]), f"{rule.where}: name is not CamelCase"
    labels = body.get("labels", {})
    assert labels.get("severity") in SEVERITIES, f"{rule.where}: severity {labels.get('severity')!r}"
    assert labels.get("team") in TEAMS, f"{rule.where}: team {labels.get('team')!r}"


@pytest.mark.parametrize("rule", ALERTS, ids=_ids(ALERTS))
def test_alert_annotations(rule: Rule) -> None:
    annotations = rule.body.get("annotations", {})
    assert set(annotations) == ANNOTATIONS, f"{rule.where}: annotations {sorted(annotations)}"
    summary = annotations["summary"]
    assert "{{" not in summary, f"{rule.where}: summary is templated (use the description)"
    assert summary[0].isupper() and summary.endswith("."), f"{rule.where}: summary {summary!r}"
    assert len(re.findall(r"[.!?](?:\s|$)", summary)) == 1, f"{rule.where}: summary is not one sentence"
    for key in ("description", "value"):
        assert TEMPLATE.search(annotations[key]), f"{rule.where}: {key} uses no label or value"


@pytest.mark.parametrize("rule", ALERTS, ids=_ids(ALERTS))
def test_alert_runbook_resolves(rule: Rule) -> None:
    url = rule.body["annotations"]["runbook_url"]
    name = rule.body["alert"]
    assert url == f"{RUNBOOK_BASE}{name}.md", f"{rule.where}: runbook_url {url}"
    page = RUNBOOKS / f"{name}.md"
    assert page.is_file(), f"{rule.where}: {page} is missing"
    assert page.read_text().startswith(f"# {name}\n"), f"{page}: must open with '# {name}'"


@pytest.mark.parametrize("rule", ALERTS, ids=_ids(ALERTS))
def test_alert_dashboard_link_resolves(rule: Rule) -> None:
    link = urlsplit(rule.body["annotations"]["dashboard"])
    match = re.fullmatch(r"/d/([a-z0-9-]+)", link.path)
    assert match, f"{rule.where}: dashboard {link.path!r} is not a /d/<uid> path"
    path = REPO / "dashboards" / f"{match.group(1)}.json"
    assert path.is_file(), f"{rule.where}: no dashboard {path}"
    variables = {variable["name"] for variable in json.loads(path.read_text())["templating"]["list"]}
    for key, _ in parse_qsl(link.query):
        assert key.startswith("var-") and key[4:] in variables, f"{rule.where}: {key} not in {path.name}"


@pytest.mark.parametrize("rule", ALERTS, ids=_ids(ALERTS))
def test_alert_for_fits_the_signal(rule: Rule) -> None:
    body = rule.body
    if body["alert"] == "Watchdog":
        return
    assert "for" in body, f"{rule.where}: no `for:`"
    match = DURATION.match(str(body["for"]))
    assert match, f"{rule.where}: for {body['for']!r}"
    seconds = int(match.group(1)) * SECONDS[match.group(2)]
    if seconds == 0:
        assert EVENT_SIGNAL.search(body["expr"]), (
            f"{rule.where}: `for: 0m` on a state signal; give it a `for:` that rides out flaps")


def test_runbook_pages_belong_to_alerts() -> None:
    names = {rule.body["alert"] for rule in ALERTS}
    orphans = {path.stem for path in RUNBOOKS.glob("*.md")} - names
    assert orphans == set(), f"runbooks without an alert: {sorted(orphans)}"


@pytest.mark.parametrize("rule", RECORDS, ids=_ids(RECORDS))
def test_recording_rule_name(rule: Rule) -> None:
    match = RECORD_NAME.match(rule.body["record"])
    assert match, f"{rule.where}: not level:metric:operations"
    if match.group("level") == SLO_LEVEL:
        # The SLO records (DESIGN.md: `argoscope_slo:*`) are per SLO, not per label level:
        # every one carries `slo` (and the SLI's cluster, namespace, pipeline).
        assert rule.body.get("labels", {}).get("slo"), f"{rule.where}: no `slo` label"
        return
    assert match.group("metric").startswith("argoscope_"), f"{rule.where}: metric part"
    expr = rule.body["expr"]
    for label in match.group("level").split("_"):
        assert label == "cluster" or label in expr, f"{rule.where}: level names {label!r}, unused"


def test_recorded_names_are_unique() -> None:
    """Unique by name and rule labels: each SLO records the same names under its `slo`."""
    names = [(rule.body["record"], tuple(sorted(rule.body.get("labels", {}).items())))
             for rule in RECORDS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("rule", ALERTS + RECORDS, ids=_ids(ALERTS + RECORDS))
def test_selectors_name_known_series(rule: Rule) -> None:
    known = _exposed_names() | {r.body["record"] for r in RECORDS} | OUTSIDE_METRICS
    unknown = set(_selectors(rule.body["expr"])) - known
    assert unknown == set(), f"{rule.where}: reads series nobody exports: {sorted(unknown)}"


@pytest.mark.parametrize("rule", ALERTS + RECORDS, ids=_ids(ALERTS + RECORDS))
def test_every_aggregation_and_join_keeps_cluster(rule: Rule) -> None:
    problems = dropped(promql_parser.parse(rule.body["expr"]))
    assert problems == [], f"{rule.where}: mixes clusters: {problems}"


# Each way of losing `cluster`, seeded into a shipped rule's expression: the check names it.
CLUSTER_FAULTS = {
    "by": ("PipelineStepImagePullStuck", "max by (cluster, ", "max by ("),
    "no by": ("PipelineStepImagePullStuck", "max by (cluster, namespace, pipeline, step, reason) ",
              "max "),
    "without": ("PipelineStepImagePullStuck", "max by (cluster, namespace, pipeline, step, reason)",
                "max without (cluster)"),
    "on": ("PipelineFailureRatioHigh", "on (cluster, ", "on ("),
    "on ()": ("PipelineStepGPUMemoryNearFull", "on (cluster)", "on ()"),
    "ignoring": ("PipelineStepGPUMemoryNearFull", "on (cluster)", "ignoring (cluster)"),
}


@pytest.mark.parametrize("fault", sorted(CLUSTER_FAULTS))
def test_cluster_check_reports_a_seeded_fault(fault: str) -> None:
    name, old, new = CLUSTER_FAULTS[fault]
    expr = next(rule.body["expr"] for rule in ALERTS if rule.body["alert"] == name)
    assert old in expr, f"{name}: the seed {old!r} is gone; update the test"
    assert dropped(promql_parser.parse(expr.replace(old, new, 1))), fault
