# The two commands the README opens with: `make demo` and `make test`.
# Each installs what it needs: a .venv with the project (`make demo` only the lean `demo`
# extra; `make test` everything), and Debian's prometheus and prometheus-alertmanager (and,
# for the tests, chromium) where they are missing. Installs show pip's progress and say up
# front what they fetch.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
PIP    := $(BIN)/python -m pip install --disable-pip-version-check --progress-bar on

.PHONY: demo test lint typecheck bench generate tools browser java venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@echo "== installing argoscope with its test extras into $(VENV) (everything: engines, \
	Spark and Dask, dashboards, linters, validators; about 900 MB to download, 2.4 GB on disk; \
	several minutes)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e '.[test]'
	touch $(STAMP) $(DEMO_STAMP)

# The demo needs only the exporter and the pipeline's packages, not the test set.
$(DEMO_STAMP): pyproject.toml
	@echo "== installing argoscope with its demo extra into $(VENV) (numpy, pandas, scipy, \
	scikit-learn, pyarrow, prometheus-client, kubernetes, jinja2, leather: about 150 MB to download, 650 MB on \
	disk; a minute or two on a fast connection; later runs skip this)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e '.[demo]'
	touch $(DEMO_STAMP)

# Prometheus, promtool, Alertmanager and amtool from Debian, installed only where missing.
tools:
	@if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null \
	    || ! command -v prometheus-alertmanager >/dev/null || ! command -v amtool >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "== installing Debian prometheus and prometheus-alertmanager (about 50 MB; under a minute)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y \
	      --no-install-recommends prometheus prometheus-alertmanager; \
	  else \
	    echo "note: prometheus/alertmanager missing and cannot be installed here (need root and apt-get)"; \
	  fi; \
	fi

# Java for Spark (the checks-at-scale tests run a local Spark session), only where missing.
java:
	@if ! command -v java >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "== installing Debian openjdk-17-jre-headless for Spark (about 45 MB; under a minute)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y \
	      --no-install-recommends openjdk-17-jre-headless; \
	  else \
	    echo "note: java missing and cannot be installed here (need root and apt-get)"; \
	  fi; \
	fi

# Chromium, the headless browser the report tests render pages with (the demo does not need it).
browser:
	@if ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian chromium (headless browser for the report tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends chromium >/dev/null; \
	  else \
	    echo "note: chromium missing and cannot be installed here (need root and apt-get)"; \
	  fi; \
	fi

test: venv tools browser java
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)
	$(MAKE) --no-print-directory lint

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

demo: $(DEMO_STAMP) tools
	$(BIN)/argoscope demo $(DEMO_ARGS)

bench: venv
	$(BIN)/python bench/run_all.py

# Regenerate committed generated files (metrics reference, dashboards, PrometheusRule, ...).
generate: venv
	$(BIN)/argoscope generate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
