# escucha — `make demo` runs the product, `make test` checks it. `make help` lists the rest.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install demo test test-browser test-slow bench lint fmt clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install escucha with its dev tools

demo: $(STAMP) ## seed the sandbox and run the service + dashboard on http://localhost:8501
	$(BIN)/escucha demo

test: $(STAMP) ## run the offline test suite (CPU, no network)
	$(BIN)/pytest -q -p no:cacheprovider

test-browser: $(STAMP) ## drive the demo in Debian's Chromium with Playwright
	$(BIN)/pytest -q -p no:cacheprovider -m browser tests/browser

test-slow: $(STAMP) ## long checks (100k-line classify, crash loops)
	$(BIN)/pytest -q -p no:cacheprovider -m slow

bench: $(STAMP) ## print throughput, latency and memory figures
	$(BIN)/pytest -q -p no:cacheprovider -m bench -s tests/bench

lint: $(STAMP) ## ruff, ruff format --check, mypy, import-linter
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP) ## format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## remove the virtualenv and local state
	rm -rf $(VENV) .escucha escucha.duckdb escucha.duckdb.wal
