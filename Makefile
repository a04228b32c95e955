# The two commands that matter: `make demo` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
export PICCOLO_CONF := stateasset.piccolo_conf

.PHONY: demo test lint format bench loadtest screenshots migrate migration serve install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Set up, load the demo group and serve the API and pages on http://$(HOST):$(PORT)
demo: $(STAMP)
	$(BIN)/stateasset demo --host $(HOST) --port $(PORT)

## Set up and run the whole suite against a real PostgreSQL
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix .

## Benchmarks (a few minutes): compute against the baseline, then end to end through the API
bench: $(STAMP)
	PYTHONPATH=src $(BIN)/python bench/consolidation.py
	PYTHONPATH=src $(BIN)/python bench/end_to_end.py
	PYTHONPATH=src $(BIN)/python bench/assets.py
	PYTHONPATH=src $(BIN)/python bench/funds.py
	PYTHONPATH=src $(BIN)/python bench/kpi_ratios.py \
		--entities $(or $(ENTITIES),1000) --periods $(or $(PERIODS),24)
	PYTHONPATH=src $(BIN)/python bench/kpi_scoring.py
	PYTHONPATH=src $(BIN)/python bench/jobs_ratios.py \
		--entities $(or $(ENTITIES),1000) --periods $(or $(PERIODS),24)
	PYTHONPATH=src $(BIN)/python bench/jobs_fund_metrics.py
	PYTHONPATH=src $(BIN)/python bench/jobs_kpi_scores.py

## Load test (about a minute, localhost only): 50 clients posting through the real server, then
## every invariant checked; see bench/loadtest.py for the options (SECONDS, CLIENTS, WORKERS)
loadtest: $(STAMP)
	PYTHONPATH=src $(BIN)/python bench/loadtest.py --seconds $(or $(SECONDS),20) \
		--clients $(or $(CLIENTS),50) --workers $(or $(WORKERS),1)

## A 1366×768 PNG of every page in web/registry.py's SHOTS, over the demo group, into docs/screenshots/
screenshots: $(STAMP)
	PYTHONPATH=src $(BIN)/python scripts/screenshots.py

migrate: $(STAMP)
	$(BIN)/stateasset migrate

serve: $(STAMP)
	$(BIN)/stateasset serve --host $(HOST) --port $(PORT)

## Create a migration from the table classes: make migration APP=ledger DESC="add x"
migration: $(STAMP)
	$(BIN)/piccolo migrations new $(APP) --auto=true --desc="$(DESC)"

clean:
	rm -rf $(VENV) .stateasset
