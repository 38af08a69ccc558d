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

.PHONY: help install lock demo test test-browser test-slow bench lint fmt clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0 -c constraints.txt
	$(BIN)/pip install --quiet -e '.[dev]' -c constraints.txt
	touch $(STAMP)

install: $(STAMP) ## create .venv and install escucha with its dev tools, at the tested versions

lock: ## re-resolve pyproject.toml's ranges in a fresh venv and write constraints.txt
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --upgrade pip
	.venv-lock/bin/pip install --quiet torch==2.13.0
	.venv-lock/bin/pip install --quiet -e '.[dev]'
	{ echo "# What \`make install\` and CI install: the versions the test suite last passed with."; \
	  echo "# Regenerate with \`make lock\` after changing a requirement in pyproject.toml."; \
	  .venv-lock/bin/pip freeze --exclude-editable | sed 's/+cpu$$//'; } > constraints.txt
	rm -rf .venv-lock
	@echo "constraints.txt written: run make test before committing it"

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
	rm -rf $(VENV) .venv-lock .escucha escucha.duckdb escucha.duckdb.wal
