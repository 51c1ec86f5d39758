"""OpenTelemetry: one span per check and the check values as metrics, exported over OTLP.

Nothing is imported or exported unless the standard `OTEL_*` variables name an exporter
(`OTEL_EXPORTER_OTLP_ENDPOINT`, a per-signal endpoint, or `OTEL_TRACES_EXPORTER` /
`OTEL_METRICS_EXPORTER` set to `otlp`). Every step of one Argo run shares one trace id,
derived from the run's identity, so a run's checks line up in one trace.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from argoscope.checks.identity import RunIdentity
from argoscope.checks.results import CheckResult

log = logging.getLogger("argoscope.checks")

DEFAULT_TIMEOUT = 3.0


def _wants(signal: str, env: Mapping[str, str]) -> bool:
    chosen = env.get(f"OTEL_{signal.upper()}_EXPORTER", "").strip().lower()
    if chosen == "none" or env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if chosen == "otlp":
        return True
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
                or env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"))


def enabled(env: Mapping[str, str] | None = None) -> bool:
    """True when the environment names an OTLP exporter for traces or metrics."""
    env = os.environ if env is None else env
    return _wants("traces", env) or _wants("metrics", env)


def _attributes(result: CheckResult, identity: RunIdentity) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "argoscope.check": result.check, "argoscope.kind": result.kind,
        "argoscope.status": result.status, "argoscope.severity": result.severity,
        "argoscope.step": identity.step, "argoscope.workflow": identity.workflow,
    }
    if result.value is not None:
        attributes["argoscope.value"] = float(result.value)
    if result.threshold is not None:
        attributes["argoscope.threshold"] = float(result.threshold)
    if result.op:
        attributes["argoscope.op"] = result.op
    return attributes


def export(results: Sequence[CheckResult], identity: RunIdentity,
           env: Mapping[str, str] | None = None) -> bool:
    """Export spans and metrics for `results`; returns False when disabled. Never raises."""
    env = os.environ if env is None else env
    traces, metrics = _wants("traces", env), _wants("metrics", env)
    if not (traces or metrics):
        return False
    try:
        if traces:
            _export_spans(results, identity, _endpoint(env, "traces"), _timeout(env))
        if metrics:
            _export_metrics(results, identity, _endpoint(env, "metrics"), _timeout(env))
    except Exception as exc:  # telemetry must never fail a step
        log.warning("OpenTelemetry export failed: %s", exc)
        return False
    return True


def _endpoint(env: Mapping[str, str], signal: str) -> str | None:
    """The OTLP/HTTP endpoint for `signal`, by the OTel spec's rules (None: SDK default)."""
    specific = env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
    if specific:
        return specific
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    return f"{base.rstrip('/')}/v1/{signal}" if base else None


def _timeout(env: Mapping[str, str]) -> float:
    """Seconds an export may take, retries included: a missing collector must not stall a
    step for long (the SDK's default is 10 s per signal)."""
    try:
        return float(env.get("OTEL_EXPORTER_OTLP_TIMEOUT", DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT


def _resource(identity: RunIdentity) -> Any:
    from opentelemetry.sdk.resources import Resource

    attributes = {"service.name": os.environ.get("OTEL_SERVICE_NAME", "argoscope-checks")}
    attributes.update({f"argo.{k}": v for k, v in identity.log_fields().items()})
    return Resource.create(attributes)


def _export_spans(results: Sequence[CheckResult], identity: RunIdentity, endpoint: str | None,
                  timeout: float) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
    from opentelemetry.trace import Status, StatusCode

    class RunTraceIds(RandomIdGenerator):
        """Random span ids within the run's fixed trace id."""

        def generate_trace_id(self) -> int:
            return identity.trace_id

    provider = TracerProvider(resource=_resource(identity), id_generator=RunTraceIds())
    provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=endpoint, timeout=timeout)))
    tracer = provider.get_tracer("argoscope.checks")
    with tracer.start_as_current_span(f"checks {identity.step or 'step'}") as step_span:
        step_span.set_attributes({"argoscope.step": identity.step,
                                  "argoscope.workflow": identity.workflow})
        for result in results:
            with tracer.start_as_current_span(f"check {result.check}") as span:
                span.set_attributes(_attributes(result, identity))
                if result.status in ("failed", "error"):
                    span.set_status(Status(StatusCode.ERROR, result.status))
    provider.shutdown()


def _export_metrics(results: Sequence[CheckResult], identity: RunIdentity,
                    endpoint: str | None, timeout: float) -> None:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=endpoint, timeout=timeout),
                                           export_interval_millis=3_600_000)
    provider = MeterProvider(resource=_resource(identity), metric_readers=[reader])
    meter = provider.get_meter("argoscope.checks")
    value = meter.create_gauge("argoscope.check.value", description="Measured value of a check")
    threshold = meter.create_gauge("argoscope.check.threshold",
                                   description="Threshold a check value was compared with")
    status = meter.create_gauge("argoscope.check.status",
                                description="1 passed or warning, 0 failed or error")
    count = meter.create_counter("argoscope.check.results", description="Check results by status")
    drift = meter.create_gauge("argoscope.feature.drift_score",
                               description="Per-feature drift score")
    for result in results:
        labels = {"step": identity.step, "check": result.check, "kind": result.kind}
        count.add(1, {**labels, "status": result.status})
        status.set(1 if result.status in ("passed", "warning") else 0, labels)
        if result.value is not None:
            value.set(float(result.value), labels)
        if result.threshold is not None:
            threshold.set(float(result.threshold), labels)
        for feature in result.features:
            drift.set(float(feature.score), {"step": identity.step, "check": result.check,
                                             "feature": feature.feature})
    provider.shutdown()  # flushes the one collection
