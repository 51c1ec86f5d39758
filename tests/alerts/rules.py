"""Paths of the shipped alerting files and a loader for their rules (shared by the alert tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
ALERTS = REPO / "alerts"
RECORDING_FILE = ALERTS / "rules" / "argoscope-recording.yaml"
ALERTS_FILE = ALERTS / "rules" / "argoscope-alerts.yaml"
RULE_FILES = (RECORDING_FILE, ALERTS_FILE)
TEST_FILES = tuple(sorted((ALERTS / "tests").glob("*.yaml")))
ALERTMANAGER_DIR = ALERTS / "alertmanager"
ALERTMANAGER_CONFIG = ALERTMANAGER_DIR / "alertmanager.yml"
RUNBOOKS = REPO / "docs" / "runbooks"
RUNBOOK_BASE = "https://github.com/argoscope/argoscope/blob/main/docs/runbooks/"


@dataclass(frozen=True)
class Rule:
    """One rule of a rule file, with where it was found (for failure messages)."""

    file: Path
    group: str
    body: dict[str, Any]

    @property
    def where(self) -> str:
        name = self.body.get("alert") or self.body.get("record")
        return f"{self.file.name}: group {self.group}: {name}"


def load_rules(path: Path) -> list[Rule]:
    """Every rule of a Prometheus rule file, in order."""
    document = yaml.safe_load(path.read_text())
    return [Rule(path, group["name"], rule)
            for group in document["groups"] for rule in group["rules"]]


def alerting_rules() -> list[Rule]:
    """Every alerting rule shipped."""
    return [rule for path in RULE_FILES for rule in load_rules(path) if "alert" in rule.body]


def recording_rules() -> list[Rule]:
    """Every recording rule shipped."""
    return [rule for path in RULE_FILES for rule in load_rules(path) if "record" in rule.body]
