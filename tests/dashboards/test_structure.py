"""Uids, tags, layout and the links between the dashboards."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tests.dashboards import lint, promql

DASHBOARD_URL = re.compile(r"^/d/([\w-]+)\?(.*)$")


def _url_links(model: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every link with a URL: panel header links and data links (defaults and overrides)."""
    for panel in lint.panels(model):
        for link in panel.get("links", []):
            yield panel["title"], link
        field_config = panel.get("fieldConfig", {})
        for link in field_config.get("defaults", {}).get("links", []):
            yield panel["title"], link
        for override in field_config.get("overrides", []):
            for prop in override.get("properties", []):
                if prop.get("id") == "links":
                    for link in prop.get("value", []):
                        yield panel["title"], link


def test_uids_are_stable_prefixed_and_unique(models: dict[str, Any]) -> None:
    for uid, model in models.items():
        assert model["uid"] == uid
        assert uid.startswith("argoscope-") and len(uid) <= 40  # Grafana's uid limit
        assert "id" not in model or model["id"] is None, "an id would clash on import"


def test_dashboards_load_as_grafana_saves_them(models: dict[str, Any]) -> None:
    """Grafana reads `annotations.list` and `templating.list`; provisioned dashboards are
    read-only, so they are not editable either."""
    for model in models.values():
        assert isinstance(model["annotations"]["list"], list)
        assert isinstance(model["templating"]["list"], list)
        assert model["editable"] is False
        assert model["schemaVersion"] >= 39


def test_every_dashboard_is_tagged_and_links_to_the_others_keeping_variables(
        models: dict[str, Any]) -> None:
    for model in models.values():
        assert "argoscope" in model["tags"]
        tag_links = [link for link in model["links"] if link["type"] == "dashboards"]
        assert tag_links, model["uid"]
        for link in tag_links:
            assert "argoscope" in link["tags"]
            assert link["includeVars"] and link["keepTime"]


def test_links_point_at_existing_dashboards_and_carry_the_context(models: dict[str, Any]) -> None:
    """Cross-links reach a real uid and carry datasource, time range and the variables."""
    seen = 0
    for model in models.values():
        for title, link in _url_links(model):
            match = DASHBOARD_URL.match(link["url"])
            assert match, (model["uid"], title, link["url"])
            target_uid, query = match.groups()
            assert target_uid in models, (model["uid"], title, target_uid)
            assert "${datasource:queryparam}" in query and "${__url_time_range}" in query
            target_variables = {v["name"] for v in models[target_uid]["templating"]["list"]}
            passed = set(re.findall(r"var-(\w+)=", query))
            passed |= set(re.findall(r"\$\{(\w+):queryparam\}", query))
            assert passed - {"datasource"}, (model["uid"], title, "passes no variable")
            assert passed <= target_variables, (model["uid"], title, passed - target_variables)
            seen += 1
    assert seen >= 4


def test_data_links_to_the_drill_down_name_fields_the_query_returns(models: dict[str, Any]) -> None:
    """A data link's ${__field.labels.x} or ${__data.fields.x} is a label its query keeps."""
    for model in models.values():
        for panel in lint.panels(model):
            links = panel.get("fieldConfig", {}).get("defaults", {}).get("links", [])
            fields = {name for link in links for name in re.findall(
                r"\$\{__(?:field\.labels|data\.fields)\.(\w+)\}", link["url"])}
            for target in panel.get("targets", []):
                grouped = re.findall(r"(?:by|max by|sum by) \(([^)]*)\)", target["expr"])
                kept = {label.strip() for group in grouped for label in group.split(",")}
                assert fields <= kept, (model["uid"], panel["title"], fields - kept)


def test_panel_titles_are_unique_within_a_dashboard(models: dict[str, Any]) -> None:
    """all_panel_queries() and failure messages name panels by title."""
    for model in models.values():
        titles = [panel["title"] for panel in lint.panels(model)]
        assert sorted(titles) == sorted(set(titles)), model["uid"]


def test_panels_have_unique_ids_and_fit_the_grid_without_overlapping(models: dict[str, Any]) -> None:
    for model in models.values():
        ids = [panel["id"] for panel in model["panels"]]
        assert len(ids) == len(set(ids)), model["uid"]
        cells: set[tuple[int, int]] = set()
        for panel in model["panels"]:
            pos = panel["gridPos"]
            assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, (model["uid"], panel["title"])
            area = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"])
                    for y in range(pos["y"], pos["y"] + pos["h"])}
            assert not area & cells, (model["uid"], panel["title"], "overlaps another panel")
            cells |= area


def test_every_variable_is_filtered_by_each_variable_before_it_and_no_later_one(
        models: dict[str, Any]) -> None:
    # The chain `_common.variable_chain` builds: cluster first, then each level narrowed by
    # all the ones above it, so that a choice higher up always narrows the lists below.
    for uid, model in models.items():
        before: list[str] = []
        for variable in lint.query_variables(model):
            query = variable["query"]
            text = query.get("query") if isinstance(query, dict) else query
            selector = promql.label_values_selector(str(text))
            assert selector is not None, (uid, variable["name"])
            assert promql.variables_in(selector) == set(before), (uid, variable["name"], text)
            before.append(variable["name"])
        assert before[0] == "cluster", uid
