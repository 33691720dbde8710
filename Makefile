# visual-search: `make run` starts the product, `make test` runs the tests. `make help` lists all.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | sort | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project with its dev tools

run: $(STAMP) ## Run the whole platform on this machine (http://localhost:$(PORT))
	$(BIN)/visualsearch serve --port $(PORT)

test-deps: $(STAMP) ## What the tests need beyond Python: Kubernetes tools + control plane, Chromium, PostgreSQL binaries (idempotent; needs root)
	@set -e; for step in tools/test-deps/*.sh; do echo "-- $$step"; "$$step"; done

test: test-deps ## Run the test suite (real PostgreSQL, Redis, S3 and Qdrant on loopback)
	$(BIN)/pytest -q -ra

test-unit: $(STAMP) ## The fast unit tests (tests/unit: logic over small fakes, under a second)
	$(BIN)/pytest -q tests/unit

lint: $(STAMP) ## ruff (lint + format check), mypy and the import contracts (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .


clean: ## Remove caches (not .venv, not the data directory)
	rm -rf .pytest_cache .mypy_cache .ruff_cache artifacts

.PHONY: help install run test-deps test test-unit lint format clean

-include mk/*.mk
