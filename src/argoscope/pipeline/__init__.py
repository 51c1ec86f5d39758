"""The reference pipeline's step code: the six steps of the seed's DAG.

Run one step with ``python -m argoscope.pipeline <step> --data-dir DIR [...]``; the Argo
manifests in `manifests/pipeline/` run exactly these commands, on a cluster or through
`argoscope run`. Every step reports its checks through :mod:`argoscope.checks`.
"""

STEPS: tuple[str, ...] = (
    "data-ingestion",
    "preprocessing",
    "feature-engineering",
    "model-training",
    "model-validation",
    "model-deployment",
)

__all__ = ["STEPS"]
