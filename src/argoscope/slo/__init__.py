"""Service level objectives for pipelines: error budgets and burn-rate alerts from a spec.

`argoscope slo generate SPEC...` reads SLOs written in argoscope's short form or as OpenSLO
v1 documents and writes Prometheus rules. The parts, in order:

- `model`: what an SLO is (`Objective`, the SLI kinds, `SpecError`);
- `fields`, `shortform`, `openslo`, `load`: reading specs, with one-line errors;
- `windows`: the burn-rate conditions and how their factors scale with the SLO window;
- `sli`, `records`, `rules`: PromQL over the exporter's families, the recorded names, the
  rule file; `cli`: the command.

docs/slo.md says how to write an SLO and what each SLI counts.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SPEC_FILES", "render_shipped"]

# The specs whose rules are committed (alerts/rules/argoscope-slo.yaml), relative to the
# repository root; `argoscope generate` regenerates the rules from them.
SPEC_FILES: tuple[str, ...] = ("alerts/slo/reference-pipeline.yaml",)
RULES_FILE = "alerts/rules/argoscope-slo.yaml"


def render_shipped(root: Path) -> dict[str, str]:
    """{RULES_FILE: the rules of SPEC_FILES}, the specs read under the checkout `root`."""
    from argoscope.slo.load import load
    from argoscope.slo.rules import render

    return {RULES_FILE: render(load(SPEC_FILES, root=root), SPEC_FILES)}
