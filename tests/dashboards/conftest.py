"""Fixtures of the dashboard tests: the generated dashboards and Grafana's JSON Schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from argoscope.dashboards import dashboards


@pytest.fixture(scope="session")
def models() -> dict[str, dict[str, Any]]:
    """Every dashboard's JSON model, by uid (built once per session)."""
    return dashboards()


@pytest.fixture(scope="session")
def grafana_schemas(shared_dir: Path) -> Path:
    """`../shared/schemas/grafana`: Grafana's JSON Schemas (see SOURCES.md there)."""
    path = shared_dir / "schemas" / "grafana"
    if not (path / "dashboard.jsonschema.json").is_file():
        pytest.skip("../shared/schemas/grafana is absent")
    return path
