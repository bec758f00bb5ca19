# Two commands do all set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: venv run test test-fast bench check migrate demo clean system-deps

# Create or update the virtualenv; a no-op when pyproject/constraints are unchanged.
venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	$(BIN)/python -m pip check
	@touch $(STAMP)

migrate: venv
	$(BIN)/cislunar db upgrade

demo: migrate
	$(BIN)/cislunar demo --if-empty

# Migrate, load the demo catalogue on first start, start service + dashboard.
run: migrate
	$(BIN)/cislunar run --dashboard --demo-if-empty

# System packages the tests use (PostgreSQL server, Chromium), installed
# from Debian when missing.
system-deps:
	bash scripts/ensure-system-deps.sh

# The whole suite. Collecting no tests (pytest exit 5) is a failure.
test: venv system-deps
	bash scripts/run-tests.sh $(PYTEST_ARGS)

test-fast: venv
	$(BIN)/python -m pytest -q -m "not slow and not browser and not postgres" $(PYTEST_ARGS)

check: venv
	$(BIN)/lint-imports
	CISLUNAR_DB_URL=sqlite:///$$(mktemp -d)/check.db bash -c '$(BIN)/cislunar db upgrade && $(BIN)/cislunar db check'

bench: venv system-deps
	bash scripts/run-bench.sh

clean:
	rm -rf $(VENV) var .bench .pytest_cache
