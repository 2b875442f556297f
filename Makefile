# SPM: `make run` starts everything, `make manage ARGS="..."` runs a manage.py command
# against the same services, `make test` runs the whole suite.
# Django 6 needs Python 3.12+: we look for 3.13 or 3.12 on PATH, then in pyenv.
SHELL := /bin/bash
PYTHON_FOR_VENV := $(shell bin/find-python)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run manage test test-fast lint typecheck check clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON_FOR_VENV)" || { echo "Python 3.12 or newer is required (see README)"; exit 1; }
	@test -x $(PY) || $(PYTHON_FOR_VENV) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) -m spm.devstack run

manage: install
	$(PY) -m spm.devstack manage $(ARGS)

test: install
	$(PY) -m spm.devstack test -n 2 --dist loadfile

test-fast: install
	$(PY) -m spm.devstack test -m "not e2e" -x -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	DATABASE_URL=$${DATABASE_URL:-postgres://localhost/spm} $(VENV)/bin/mypy spm pipeline goals kpis incentives coaching integrations

check: lint typecheck test

clean:
	rm -rf var/pg var/redis.db var/staticfiles
