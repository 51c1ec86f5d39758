"""The demo's services and their lifecycle: the exporter following the state directory,
then Alertmanager and Prometheus with the shipped rules and configuration when installed."""

from __future__ import annotations

from pathlib import Path

from argoscope import harness

RULES_DIR = Path("alerts/rules")
ALERTMANAGER_CONFIG = Path("alerts/alertmanager/alertmanager.yml")


class DemoServices:
    """The services one demo starts, under `STATE_DIR/services`. Use as a context manager
    (or call `stop`): whatever started stops, also when a later start fails."""

    def __init__(self, repo: Path, state_dir: Path, use_prometheus: bool = True) -> None:
        self.repo = repo
        self.state_dir = state_dir
        self.workdir = state_dir / "services"
        self.use_prometheus = use_prometheus
        self.exporter: harness.Service | None = None
        self.prometheus: harness.Service | None = None
        self.alertmanager: harness.Service | None = None
        self.missing: list[str] = []  # what is not installed, as the user should read it

    def start_exporter(self) -> harness.Service:
        """The exporter, before any run so that it counts them."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.exporter = harness.start_exporter(["--source", f"local:{self.state_dir}"],
                                               self.workdir)
        return self.exporter

    def start_monitoring(self) -> None:
        """Alertmanager, then Prometheus scraping the exporter and sending to Alertmanager;
        each one not installed is named in `missing` instead."""
        if not self.use_prometheus:
            return
        assert self.exporter is not None, "start the exporter first"
        am_binary = harness.find_binary(harness.ALERTMANAGER_BINARIES)
        prom_binary = harness.find_binary(("prometheus",))
        if am_binary:
            self.alertmanager = harness.start_alertmanager(
                am_binary, self.repo / ALERTMANAGER_CONFIG, self.workdir / "alertmanager")
        else:
            self.missing.append("Alertmanager")
        if prom_binary:
            rules = sorted((self.repo / RULES_DIR).glob("*.yaml"))
            config = harness.prometheus_config(
                self.exporter.url, rules, self.alertmanager.url if self.alertmanager else None)
            self.prometheus = harness.start_prometheus(prom_binary, config,
                                                       self.workdir / "prometheus")
        else:
            self.missing.append("Prometheus")

    def stop(self) -> None:
        """Stop every started service (Prometheus first: it no longer needs the others)."""
        for service in (self.prometheus, self.alertmanager, self.exporter):
            if service is not None:
                service.stop()

    def __enter__(self) -> DemoServices:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def links(self) -> list[tuple[str, str | None]]:
        """Where to browse each running service, by label; each URL probed first (None when
        it does not answer). Alertmanager's API stands in for a UI its build lacks."""
        assert self.exporter is not None
        links = [("exporter metrics", harness.first_page(self.exporter.url, ("/metrics",)))]
        if self.prometheus is not None:
            url = self.prometheus.url
            links += [("Prometheus alerts", harness.first_page(url, harness.PROMETHEUS_ALERTS_PAGES)),
                      ("Prometheus graph", harness.first_page(url, harness.PROMETHEUS_GRAPH_PAGES))]
        if self.alertmanager is not None:
            ui = harness.alertmanager_ui(self.alertmanager.url)
            links.append(("Alertmanager", ui))
            if ui is None:
                links.append(("Alertmanager API", harness.first_page(
                    self.alertmanager.url, ("/api/v2/alerts",))))
        return links
