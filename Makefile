# Herald: `make dev` runs everything on embedded servers; `make test` runs lint, types, tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
PYTEST_WORKERS ?= 2
# The browser tests drive Debian's Chromium through Playwright (no browser download).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install lock dev test lint typecheck pytest clean bench bench-quick soak screenshots client

install: $(STAMP)

# The exact versions every machine installs: $(LOCK), made by `make lock`.
$(STAMP): pyproject.toml clients/python/pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c $(LOCK) -e '.[dev,embedded]' -e ./clients/python
	@touch $(STAMP)

# Resolves pyproject.toml's ranges afresh in a scratch venv and writes what it got.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check \
		-e '.[dev,embedded]' -e ./clients/python
	( echo "# make lock: every package make install takes, at these versions"; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable ) > $(LOCK)
	rm -rf .lock-venv

dev: install
	$(BIN)/herald dev

lint: install
	$(BIN)/ruff check service workers migrations tests bench clients

typecheck: install
	$(BIN)/mypy
	cd clients/python && ../../$(BIN)/mypy

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# The delivery and egress suites run a second time with the aiohttp webhook client.
EGRESS_SUITES := tests/test_delivery.py tests/test_egress_vectors.py \
	tests/faults/test_hostile_receivers.py tests/test_poison.py

pytest: install $(CHROMIUM)
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)
	HERALD_EGRESS_CLIENT=aiohttp $(BIN)/pytest -n $(PYTEST_WORKERS) $(EGRESS_SUITES)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .lock-venv .herald .mypy_cache .ruff_cache .pytest_cache

bench: install
	$(BIN)/python -m bench.run --runs 3

bench-quick: install
	$(BIN)/python -m bench.run --quick --runs 1

soak: install
	$(BIN)/python -m bench.soak --minutes 10

# docs/screenshots/*.png: the console and the portal on `herald dev` with an example.
screenshots: install $(CHROMIUM)
	$(BIN)/python docs/screenshots.py

# The client's generated code (models from the OpenAPI document, the sync client from the
# async one); tests/test_client.py fails when the committed files differ from this.
client: install
	$(BIN)/python clients/python/generate.py
