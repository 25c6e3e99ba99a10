# Set-up is two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint typecheck pytest sandbox clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "migkit needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)

# Re-install whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/migkit demo

lint: $(STAMP)
	$(BIN)/ruff check migkit tests benchmarks sample_data

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest --doctest-modules migkit tests

test: lint typecheck pytest

sandbox: $(STAMP)
	$(BIN)/migkit sandbox

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
