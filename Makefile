# kmsdet developer and CI entry points. Every target installs what it needs into .venv first,
# so `make test` works on a fresh clone with nothing installed by hand.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.kmsdet-installed
RULES  ?= rules/

.PHONY: help install lint test test-rules fmt check bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv and install kmsdet with its dev tools

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

lint: install ## Lint the rules (kmsdet lint rules/)
	$(BIN)/kmsdet lint $(RULES)

test-rules: install ## The main job: strict lint, then every rule's expected-alert tests
	$(BIN)/kmsdet lint --strict $(RULES)

test: install ## The whole pytest suite
	$(BIN)/pytest -q

fmt: install ## Fix what ruff can fix
	$(BIN)/ruff check --fix kmsdet tests bench scripts

check: install ## ruff, as CI runs it
	$(BIN)/ruff check kmsdet tests bench scripts

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
