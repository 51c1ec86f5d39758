"""Cost: what a step attempt costs, from its pod's effective requests, a price and its window.

Pure and light (no Kubernetes client, no Prometheus client), so the exporter, the local runner
and the run report price attempts with the same rules: `quantity` reads Kubernetes quantities,
`requests` computes a pod's effective requests, `prices` reads the price file and `formula`
multiplies them out.
"""
