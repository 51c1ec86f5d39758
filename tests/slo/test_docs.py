"""The SLO specs docs/slo.md shows are valid as written, and the shipped spec generates the
committed rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from argoscope.cli import main
from argoscope.slo import SPEC_FILES, load

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "slo.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("block", [b for b in re.findall(r"```yaml\n(.*?)```", DOC, re.S)])
def test_every_yaml_example_of_the_docs_is_a_valid_spec(block: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "example.yaml"
    spec.write_text(block, encoding="utf-8")
    assert main(["slo", "generate", str(spec), "--check"]) == 0, capsys.readouterr().err


def test_the_shipped_spec_names_the_reference_pipeline() -> None:
    objectives = load.load(SPEC_FILES, root=REPO)
    assert {o.sli.__class__.__name__ for o in objectives} == {
        "RunSuccess", "Freshness", "StepLatency", "ChecksPassing"}
    assert all(o.scope is not None and o.scope.pipeline == "ml-reference-pipeline"
               for o in objectives)
