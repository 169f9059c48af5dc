# One entry point for developers and CI.
#   make test        install into .venv if needed, then ruff, mypy --strict and the whole pytest suite
#   make quick       the same checks, skipping tests marked slow
#   make bench       the benchmarks in benchmarks/
#   make install     only create .venv and install the project into it
#   make run         install if needed, then run a local grid (grid local) until Ctrl-C

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test quick lint bench install run clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/grid local

lint: $(STAMP)
	$(BIN)/ruff check grid storage_server client introducer tests benchmarks
	$(BIN)/ruff format --check grid storage_server client introducer tests benchmarks
	$(BIN)/mypy grid storage_server client introducer

test: lint
	$(BIN)/pytest -n auto

quick: lint
	$(BIN)/pytest -n auto -m 'not slow'

bench: $(STAMP)
	$(BIN)/python -m benchmarks.encode_chk
	$(BIN)/python -m benchmarks.storage_foolscap
	$(BIN)/python -m benchmarks.local_grid

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
