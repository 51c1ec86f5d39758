"""Who is running: the Argo run, step and node identity a pod gets from its environment.

Argo's controller sets `ARGO_NODE_ID` (always), `ARGO_TEMPLATE` (the template as JSON) and, in
recent versions, `ARGO_WORKFLOW_NAME` and a W3C `TRACEPARENT` on the main container. Pods
created by the local runner or by hand may set `ARGOSCOPE_*` overrides instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-(?P<trace>[0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


@dataclass(frozen=True, slots=True)
class RunIdentity:
    """The run, step and node a check belongs to (empty strings outside Argo)."""

    workflow: str = ""
    namespace: str = ""
    step: str = ""
    template: str = ""
    node_id: str = ""
    pod: str = ""
    traceparent: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, step: str = "") -> RunIdentity:
        """Read the identity from `env` (default: the process environment)."""
        env = os.environ if env is None else env
        node_id = env.get("ARGO_NODE_ID", "")
        template = ""
        raw_template = env.get("ARGO_TEMPLATE", "")
        if raw_template:
            try:
                parsed = json.loads(raw_template)
                template = str(parsed.get("name", "")) if isinstance(parsed, dict) else ""
            except ValueError:
                template = ""
        workflow = env.get("ARGOSCOPE_WORKFLOW") or env.get("ARGO_WORKFLOW_NAME", "")
        if not workflow and node_id:
            # Pod node ids are "<workflow>-<number>": the run's name is what precedes the number.
            workflow = node_id.rsplit("-", 1)[0]
        return cls(workflow=workflow,
                   namespace=env.get("ARGOSCOPE_NAMESPACE") or env.get("POD_NAMESPACE", ""),
                   step=step or env.get("ARGOSCOPE_STEP", "") or template,
                   template=template, node_id=node_id,
                   pod=env.get("ARGO_POD_NAME") or env.get("HOSTNAME", ""),
                   traceparent=env.get("TRACEPARENT", ""))

    @property
    def trace_id(self) -> int:
        """One trace per run: Argo's TRACEPARENT when present, else a hash of the run's name."""
        match = _TRACEPARENT.match(self.traceparent)
        if match and int(match["trace"], 16):
            return int(match["trace"], 16)
        seed = f"{self.namespace}/{self.workflow}" if self.workflow else f"local/{os.getpid()}"
        return int(hashlib.sha256(seed.encode()).hexdigest()[:32], 16) or 1

    def log_fields(self) -> dict[str, str]:
        """The identity as log fields, without empty values."""
        fields = {"workflow": self.workflow, "namespace": self.namespace, "step": self.step,
                  "template": self.template, "node_id": self.node_id, "pod": self.pod}
        return {key: value for key, value in fields.items() if value}
