"""The shipped rules pass `promtool check rules`, and every promtool unit test file passes.

Every alert must be covered by the unit tests both firing and not firing.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.alerts.rules import RULE_FILES, TEST_FILES, alerting_rules
from tests.support.servers import require_binary


def test_rule_files_pass_promtool_check() -> None:
    promtool = require_binary("promtool")
    result = subprocess.run([promtool, "check", "rules", *map(str, RULE_FILES)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda path: path.name)
def test_promtool_unit_tests_pass(test_file: Path) -> None:
    promtool = require_binary("promtool")
    result = subprocess.run([promtool, "test", "rules", str(test_file)],
                            capture_output=True, text=True, timeout=120, cwd=test_file.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def _cases() -> tuple[set[str], set[str]]:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in TEST_FILES:
        document = yaml.safe_load(path.read_text())
        for test in document["tests"]:
            for case in test.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    return firing, quiet


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    names = {rule.body["alert"] for rule in alerting_rules()}
    firing, quiet = _cases()
    assert names - firing == set(), "alerts without a firing unit test"
    # The Watchdog always fires: it has no quiet case by design.
    assert names - quiet - {"Watchdog"} == set(), "alerts without a not-firing unit test"
    assert (firing | quiet) - names == set(), "unit tests of alerts that do not exist"


def test_every_severity_variant_is_tested_firing() -> None:
    """Alerts shipped at two severities have each severity asserted in a firing case."""
    shipped = {(rule.body["alert"], rule.body["labels"]["severity"]) for rule in alerting_rules()}
    seen: set[tuple[str, str]] = set()
    for path in TEST_FILES:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                for alert in case.get("exp_alerts") or []:
                    seen.add((case["alertname"], alert["exp_labels"]["severity"]))
    assert shipped - seen == set()
