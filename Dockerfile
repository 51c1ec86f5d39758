# syntax=docker/dockerfile:1
# The argoscope exporter: ghcr.io/argoscope/argoscope-exporter:0.1.0
#   docker build -t ghcr.io/argoscope/argoscope-exporter:0.1.0 .
# The base is pinned by its full version tag; to pin by digest as well, resolve it with
# `docker buildx imagetools inspect python:3.11.13-slim-bookworm` and append `@sha256:...`
# to both FROM lines.

# Build stage: installs the package and its exporter dependencies into a virtualenv.
FROM python:3.11.13-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY pyproject.toml README.md /src/
COPY src /src/src
RUN /opt/venv/bin/pip install "/src[exporter]" \
 && /opt/venv/bin/pip uninstall --yes pip setuptools wheel

# Final stage: the same Python, the virtualenv, no pip, no compiler, no package manager runs.
FROM python:3.11.13-slim-bookworm
LABEL org.opencontainers.image.title="argoscope-exporter" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.source="https://github.com/argoscope/argoscope" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=build /opt/venv /opt/venv
# A numeric non-root user, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 9842
ENTRYPOINT ["argoscope"]
CMD ["exporter", "--source", "kubernetes", "--listen", "0.0.0.0:9842"]
