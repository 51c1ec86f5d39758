"""What the demo prints: the scenarios it runs, the summary of what happened and why, and
where to look at the services. Formatting only: each function gets what it shows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from argoscope import harness
from argoscope.demo.scenarios import SCENARIOS, RunReport
from argoscope.demo.services import DemoServices
from argoscope.local.names import command
from argoscope.local.summary import run_block

INSTALL_HINT = ("install them to see alerts: `make tools` (Debian/Ubuntu, as root: apt-get "
                "install prometheus prometheus-alertmanager), or put the official release "
                "binaries from https://prometheus.io/download/ on PATH; then rerun")


def scenario_lines() -> Iterator[str]:
    """What each scenario shows, with its parameters, before the runs start."""
    yield ""
    for scenario in SCENARIOS:
        shown = " ".join(f"-p {k}={v!r}" for k, v in scenario.parameters.items())
        yield (f"== {scenario.name} run: {scenario.shows}"
               + (f"\n   parameters: {shown}" if shown else ""))


def missing_note(missing: Sequence[str]) -> str:
    """The note when Prometheus or Alertmanager is not installed."""
    return f"note: {' and '.join(missing)} not installed; {INSTALL_HINT}"


def run_lines(reports: Sequence[RunReport], state_hint: str) -> Iterator[str]:
    """Each run: its verdict, duration, retries, steps, the checks that did not pass with
    their value against the threshold, why a failed run failed, and its report."""
    for report in reports:
        yield from run_block(report.run, state_hint, report.page, label=report.scenario.name,
                             indent="")


def alert_lines(firing: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    """The alerts firing in Prometheus, by name, with where they point."""
    yield ""
    yield "alerts firing in Prometheus:"
    for alert in sorted(firing, key=lambda a: str(a["labels"]["alertname"])):
        labels = alert["labels"]
        where = ", ".join(f"{k}={labels[k]}" for k in ("workflow", "step", "check")
                          if k in labels)
        yield f"  {labels['alertname']} [{labels.get('severity', '')}] {where}".rstrip()
    if not firing:
        yield "  (none)"


def summary_lines(reports: Sequence[RunReport], state_dir: Path, state_hint: str,
                  firing: Sequence[Mapping[str, Any]] | None) -> Iterator[str]:
    """The summary a person reads: runs, steps, checks, reasons, the `firing` alerts (None:
    no Prometheus ran), and what next."""
    from argoscope.pipeline.registry import Registry, RegistryError
    from argoscope.pipeline.storage import StepInputError

    yield ""
    yield "== summary"
    yield from run_lines(reports, state_hint)
    if firing is not None:
        yield from alert_lines(firing)
    yield ""
    yield f"runs (Argo-shaped): {state_dir / 'workflows'}"
    registry = state_dir / "volumes" / "argoscope-model-registry"
    try:
        current = Registry(registry).current
    except (RegistryError, StepInputError, OSError):
        current = None
    yield f"model registry:    {registry} (current version: {current or 'none'})"
    failed = next((r.run for r in reports if r.run.failures()), None)
    if failed is not None:
        step = failed.failures()[0].step
        yield (f"next: {command()} get {failed.name}{state_hint}   (then: {command()} "
               f"logs {failed.name} {step}{state_hint})")
    else:
        yield f"next: {command()} list{state_hint}"


def service_lines(services: DemoServices, serving: bool) -> Iterator[str]:
    """Where to look while the services run, each URL probed first; or, once they
    stopped, a line that says so and how to keep them."""
    if not serving:
        yield ("services stopped: the exporter, Prometheus and Alertmanager ran only during "
               "the demo; `argoscope demo --serve` keeps them up to browse (Ctrl-C stops)")
        if services.missing:
            yield f"{' and '.join(services.missing)} not installed: {INSTALL_HINT}"
        return
    links = services.links()
    if services.alertmanager is not None and dict(links).get("Alertmanager") is None \
            and harness.find_binary(("amtool",)):
        yield ("Alertmanager has no web UI in this build; its alerts: "
               f"amtool alert query --alertmanager.url={services.alertmanager.url}")
    for label, url in links:
        if url is not None:
            yield f"{label + ':':19}{url}"
    if services.missing:
        yield f"{' and '.join(services.missing)} not installed: {INSTALL_HINT}"
