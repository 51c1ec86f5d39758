"""The one way the exporter reaches the Kubernetes API: in-cluster when in a pod, else a
kubeconfig. Used by the watch source (Workflows, Pods) and by dcgm-exporter discovery, so
both read the same cluster with the same credentials.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from kubernetes import client, config

from argoscope.exporter.sources import SourceError

log = logging.getLogger("argoscope.exporter")


def api_client(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """An API client configured in-cluster when running in a pod, else from a kubeconfig.

    An explicit `--kubeconfig` or `--context` wins over the in-cluster service account; a
    pod without a usable service account falls back to the default kubeconfig. Raises
    SourceError naming the configuration that could not be loaded.
    """
    configuration = client.Configuration()
    if kubeconfig is None and context is None and "KUBERNETES_SERVICE_HOST" in os.environ:
        try:
            config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration)
            return client.ApiClient(configuration)
        except config.ConfigException as error:
            log.info("kubernetes: no in-cluster config (%s); trying the kubeconfig", error)
    try:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context, client_configuration=configuration)
    except (config.ConfigException, OSError, ValueError, TypeError, KeyError) as error:
        where = kubeconfig or "the default kubeconfig"
        raise SourceError(f"kubernetes: cannot load {where}: {error}") from error
    return client.ApiClient(configuration)


def core_api(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """A CoreV1Api configured by `api_client` (in-cluster, else kubeconfig)."""
    return client.CoreV1Api(api_client(kubeconfig, context))
