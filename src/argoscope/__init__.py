"""argoscope: observability and data-quality monitoring for ML pipelines on Argo Workflows."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("argoscope")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
