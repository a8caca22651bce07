# Two commands for a fresh machine with Python 3.11+, pip and make:
#   make demo   -- venv, pinned install, sample database, summary
#   make test   -- dev tools, ruff, the whole pytest suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= demo

.PHONY: demo test install dev lint format lab clean system-deps kernel

# Debian packages the full test suite uses: headless Chromium (HTML report
# checks) and a PostgreSQL server (the PostgreSQL source). Needs root.
SYSTEM_PACKAGES = chromium postgresql sqlite3-tools

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

demo: install
	$(BIN)/wfhist demo --out $(DEMO)/workflow_history.db --force
	$(BIN)/wfhist summary $(DEMO)/workflow_history.db

lint: dev
	$(BIN)/ruff check wfhist tests benchmarks
	$(BIN)/ruff format --check wfhist tests benchmarks

format: dev
	$(BIN)/ruff format wfhist tests benchmarks
	$(BIN)/ruff check --fix wfhist tests benchmarks

test: lint
	$(BIN)/python -m pytest

system-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES)

lab: install
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .ruff_cache
