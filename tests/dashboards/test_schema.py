"""Each dashboard validates against Grafana's JSON Schemas (dashboard model, panel options and
field config per panel type, Prometheus queries), as the foundation SDK's main line emits."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from argoscope.dashboards import dashboards
from tests.dashboards.lint import panels

UIDS = sorted(dashboards())


@cache
def _schema(directory: Path, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        (directory / f"{name}.jsonschema.json").read_text(encoding="utf-8"))
    return schema


def _validator(directory: Path, name: str, definition: str | None = None) -> jsonschema.Draft7Validator:
    schema = _schema(directory, name)
    if definition is not None:
        # Validate against one definition while keeping the others resolvable.
        schema = {**schema, "$ref": f"#/definitions/{definition}"}
    return jsonschema.Draft7Validator(schema)


def _errors(validator: jsonschema.Draft7Validator, instance: object) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(instance)]


@pytest.mark.parametrize("uid", UIDS)
def test_dashboard_model_validates(uid: str, models: dict[str, Any], grafana_schemas: Path) -> None:
    assert _errors(_validator(grafana_schemas, "dashboard"), models[uid]) == []


@pytest.mark.parametrize("uid", UIDS)
def test_panel_options_and_field_config_validate(
        uid: str, models: dict[str, Any], grafana_schemas: Path) -> None:
    problems = []
    for panel in panels(models[uid]):
        kind = panel["type"]
        assert (grafana_schemas / f"{kind}.jsonschema.json").is_file(), (
            f"panel {panel['title']!r}: no schema for panel type {kind}")
        problems += [f"{panel['title']} options {error}" for error in _errors(
            _validator(grafana_schemas, kind, "Options"), panel.get("options", {}))]
        if "FieldConfig" in _schema(grafana_schemas, kind).get("definitions", {}):
            custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom", {})
            problems += [f"{panel['title']} custom {error}" for error in _errors(
                _validator(grafana_schemas, kind, "FieldConfig"), custom)]
    assert problems == []


@pytest.mark.parametrize("uid", UIDS)
def test_queries_validate_as_prometheus_queries(
        uid: str, models: dict[str, Any], grafana_schemas: Path) -> None:
    validator = _validator(grafana_schemas, "prometheus")
    problems = [f"{panel['title']} {target.get('refId')}: {error}"
                for panel in panels(models[uid]) for target in panel.get("targets", [])
                for error in _errors(validator, target)]
    assert problems == []


def test_schema_rejects_a_broken_dashboard(models: dict[str, Any], grafana_schemas: Path) -> None:
    """The schema check is not vacuous: a panel with a misspelt field fails it."""
    broken = json.loads(json.dumps(models[UIDS[0]]))
    broken["panels"][1]["gridPos"]["width"] = 3
    assert _errors(_validator(grafana_schemas, "dashboard"), broken)
