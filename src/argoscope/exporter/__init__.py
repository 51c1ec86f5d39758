"""The exporter: Workflow, Pod, DCGM and check results into one model, served to Prometheus."""
