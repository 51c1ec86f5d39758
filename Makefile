# The two commands the README opens with: `make demo` and `make test`.
# Each installs what it needs: a .venv with the project, and Debian's prometheus,
# prometheus-alertmanager and chromium where they are missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck bench generate tools venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Prometheus, promtool, Alertmanager and amtool from Debian, installed only where missing;
# and chromium, the headless browser the report tests render pages with.
tools:
	@if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null \
	    || ! command -v prometheus-alertmanager >/dev/null || ! command -v amtool >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian prometheus and prometheus-alertmanager"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends prometheus prometheus-alertmanager >/dev/null; \
	  else \
	    echo "note: prometheus/alertmanager missing and cannot be installed here (need root and apt-get)"; \
	  fi; \
	fi
	@if ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian chromium (headless browser for the report tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends chromium >/dev/null; \
	  else \
	    echo "note: chromium missing and cannot be installed here (need root and apt-get)"; \
	  fi; \
	fi

test: venv tools
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)
	$(MAKE) --no-print-directory lint

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

demo: venv tools
	$(BIN)/argoscope demo $(DEMO_ARGS)

bench: venv
	$(BIN)/python bench/run_all.py

# Regenerate committed generated files (metrics reference, dashboards, PrometheusRule, ...).
generate: venv
	$(BIN)/argoscope generate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
