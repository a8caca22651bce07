# Two commands for a fresh machine with Python 3.11+, pip and make:
#   make demo   -- venv, pinned install, sample database, summary
#   make test   -- dev tools, ruff, the whole pytest suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= demo

.PHONY: demo test install dev lint typecheck format lab clean system-deps kernel

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

# The whole operator story on the sample: dry runs of the historic 005 as
# written (errors) and restricted to columns that exist (loses 49 columns) --
# FAIL reports, exit 1 expected -- then migrate 006+007 with a verified backup,
# the verification report of the done migration (PASS), and the analytics reports.
demo: kernel
	$(BIN)/wfhist demo --out $(DEMO)/workflow_history.db --force
	rm -rf $(DEMO)/reports $(DEMO)/backups
	$(BIN)/wfhist report verify_migration --db $(DEMO)/workflow_history.db --out $(DEMO)/reports \
	    --no-input --stem verify_005_plan \
	    -p migration_path tests/fixtures/005_rename_temporal_columns.sql \
	    -p title "Dry run of the historic migration 005"; test $$? -eq 1
	$(BIN)/wfhist report verify_migration --db $(DEMO)/workflow_history.db --out $(DEMO)/reports \
	    --no-input --stem verify_005_runnable_plan \
	    -p migration_path tests/fixtures/005_restricted_to_existing_columns.sql \
	    -p title "Dry run of 005 restricted to existing columns: what it would lose"; test $$? -eq 1
	$(BIN)/wfhist migrate $(DEMO)/workflow_history.db --backup-dir $(DEMO)/backups
	$(BIN)/wfhist report verify_migration --db $(DEMO)/workflow_history.db --out $(DEMO)/reports \
	    --no-input --stem verify_006_007 \
	    -p backup_path "$$(ls -t $(DEMO)/backups/*.db | head -1)" \
	    -p title "Migrations 006 and 007 applied"
	$(BIN)/wfhist report --all --db $(DEMO)/workflow_history.db --out $(DEMO)/reports
	$(BIN)/wfhist summary $(DEMO)/workflow_history.db
	@echo "reports:"; ls -1 $(DEMO)/reports/*.html

# A Jupyter kernel named "wfhist" for this venv, so JupyterLab users can pick it.
kernel: install
	$(BIN)/python -m ipykernel install --sys-prefix --name wfhist --display-name "Python (wfhist)" >/dev/null

lint: dev
	$(BIN)/ruff check wfhist tests benchmarks
	$(BIN)/ruff format --check wfhist tests benchmarks
	$(BIN)/mypy

typecheck: dev
	$(BIN)/mypy

format: dev
	$(BIN)/ruff format wfhist tests benchmarks
	$(BIN)/ruff check --fix wfhist tests benchmarks

test: lint
	$(BIN)/python -m pytest

system-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES)

# JupyterLab on the notebooks; their default db_path is ../demo/workflow_history.db.
lab: kernel
	test -f $(DEMO)/workflow_history.db || $(BIN)/wfhist demo --out $(DEMO)/workflow_history.db
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .ruff_cache
