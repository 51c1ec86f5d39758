"""Thresholds the exporter, the dashboards and the alert rules must agree on, defined once.

Dependency-free, so the dashboard generator can import it without the exporter's libraries.
"""

from __future__ import annotations

# Below this utilization (0..1) a GPU held by a step pod does nothing useful: it counts as
# allocated-idle in `argoscope_node_gpus_allocated_idle`, the GPU dashboard's idle panels and
# the `ArgoscopeStepGpuIdle` alert (whose threshold a test holds equal to this).
IDLE_GPU_UTILIZATION = 0.05
