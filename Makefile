# costream: `make run` starts the whole stack with demo traffic; `make test` proves it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run up test test-docker lint typecheck schemas grafana bench clean

$(STAMP): pyproject.toml clients/python/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "costream needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' -e './clients/python[sync]'
	touch $(STAMP)

install: $(STAMP)

## The main job on the embedded default: Tansu broker + Faust worker + chDB, with demo events.
run: $(STAMP)
	$(BIN)/costream up --demo

## Same, without demo traffic.
up: $(STAMP)
	$(BIN)/costream up

# Headless Chromium (Debian's package) renders the dashboard in its test; installed when
# this runs as root with apt, else that test skips and says why.
CHROMIUM_STAMP := $(VENV)/.chromium
$(CHROMIUM_STAMP):
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends chromium >/dev/null; } || \
	    echo "could not install chromium: the dashboard test will skip"; \
	  else echo "chromium not found and not root: the dashboard test will skip"; fi; }
	@touch $@

## Unit and integration tests on the real embedded stack; Docker-backed tests skip without Docker.
test: $(STAMP) $(CHROMIUM_STAMP)
	$(BIN)/python -m pytest -q -ra

## Only the testcontainers suite (Apache Kafka + ClickHouse server); needs a Docker engine.
test-docker: $(STAMP)
	$(BIN)/python -m pytest -q -ra -m docker

lint: $(STAMP)
	$(BIN)/ruff check stream schemas tests clients
	$(BIN)/mypy stream schemas clients/python/costream_client

## Re-export schemas/json/*.schema.json from the pydantic models.
schemas: $(STAMP)
	$(BIN)/python -m schemas.export

## Regenerate deploy/grafana/costream.json from the report queries.
grafana: $(STAMP)
	$(BIN)/python -m stream.reports.grafana

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

## Figures and ratios measured in one run: printed, and written under bench/results/.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

## BENCH_ARGS="--soak-seconds 60 --report-events 1000000" for a shorter run.
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)
