"""The local runner: `argoscope run` executes an Argo Workflow manifest on this machine."""
