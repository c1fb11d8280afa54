# anju: two commands on a fresh machine with Python 3.11 — `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/anju

.PHONY: install run test test-sqlite test-postgres lint bench clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

## make run: migrate, seed the medium demo once, serve http://127.0.0.1:8000 (Ctrl-C stops it).
run: install
	ANJU_DEBUG=$${ANJU_DEBUG:-1} $(BIN)/anju migrate --noinput
	ANJU_DEBUG=$${ANJU_DEBUG:-1} $(BIN)/anju seed_demo --size medium
	ANJU_DEBUG=$${ANJU_DEBUG:-1} exec $(BIN)/anju rundemo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/anju makemigrations --check --dry-run >/dev/null

## make test: lint, then the whole suite on SQLite, then again on PostgreSQL when DATABASE_URL is
## set (CI sets it). Browser tests need Debian's chromium (.ci/run installs it).
test: lint test-sqlite test-postgres

test-sqlite: install
	env -u DATABASE_URL ANJU_DATA_DIR=$(CURDIR)/var/test $(BIN)/pytest

test-postgres: install
	@if [ -n "$$DATABASE_URL" ]; then \
		echo "== the suite again on PostgreSQL ($$DATABASE_URL)"; \
		ANJU_DATA_DIR=$(CURDIR)/var/test $(BIN)/pytest; \
	else echo "DATABASE_URL unset: PostgreSQL pass skipped (CI always runs it)"; fi

## make bench: every benchmark, one after another (each needs PostgreSQL; see docs/benchmarks.md).
bench: install
	$(BIN)/python bench/api_load.py
	$(BIN)/python bench/workorders.py
	$(BIN)/python bench/bill_run.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/alarms.py
	$(BIN)/python bench/access.py

clean:
	rm -rf $(VENV) var build *.egg-info

## make messages: refresh the Chinese catalogue from the code and compile it (needs GNU gettext).
messages: install
	cd src/anju && ../../$(BIN)/anju makemessages -l zh_Hans --add-location file --no-obsolete
	cd src/anju && ../../$(BIN)/anju compilemessages --locale zh_Hans
