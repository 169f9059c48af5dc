# One entry point for developers and CI.
#   make test        install into .venv if needed (and Debian's chromium for the browser tests),
#                    then ruff, mypy --strict and the whole pytest suite
#   make quick       the same checks, skipping tests marked slow
#   make bench       the benchmarks in benchmarks/
#   make install     only create .venv and install the project into it
#   make run         install if needed, then run a local grid (grid local) until Ctrl-C

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test quick lint bench install run clean browser-deps

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

# Debian's chromium and chromium-driver for the browser tests (apt, as root); without them
# those tests are skipped and say why.
browser-deps: $(STAMP)
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
		sh tests/browser/install_browser.sh $(BIN)/python || \
		echo "chromium could not be installed: the browser tests will be skipped"

test: lint browser-deps
	$(BIN)/pytest -n auto

quick: lint
	$(BIN)/pytest -n auto -m 'not slow'

bench: $(STAMP)
	$(BIN)/python -m benchmarks.encode_chk
	$(BIN)/python -m benchmarks.storage_foolscap
	$(BIN)/python -m benchmarks.local_grid
	$(BIN)/python -m benchmarks.mutable
	$(BIN)/python -m benchmarks.directories
	$(BIN)/python -m benchmarks.check

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
