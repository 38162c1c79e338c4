# kmsdet developer and CI entry points. Every target installs what it needs into .venv first,
# so `make test` works on a fresh clone with nothing installed by hand.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.kmsdet-installed
RULES  ?= rules/

BACKENDS ?= embedded
BASELINE ?= 10000

.PHONY: help install lint test test-rules fmt check bench clean es-up es-down sandbox-test

# Every target but these needs .venv: check PYTHON first (3.10 to 3.13), and drop a .venv that
# another Python made, so that `make test PYTHON=python3.12` after a failed run just works.
NO_VENV_GOALS := help clean es-up es-down
ifneq ($(filter-out $(NO_VENV_GOALS),$(or $(MAKECMDGOALS),help)),)
VENV_PYTHON := $(shell $(PYTHON) scripts/venv_python.py $(VENV) >&2 && echo ok)
ifneq ($(VENV_PYTHON),ok)
$(error PYTHON=$(PYTHON) cannot build $(VENV) (see above); e.g. make $(MAKECMDGOALS) PYTHON=python3.12)
endif
endif

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
	@for backend in $(BACKENDS); do \
	  echo "== kmsdet test --backend $$backend =="; \
	  skip=$$( [ "$$backend" = embedded ] || echo --skip-unsupported ); \
	  $(BIN)/kmsdet test --backend $$backend --baseline $(BASELINE) $$skip $(RULES) || exit 1; \
	done

test: install ## The whole pytest suite
	$(BIN)/pytest -q

fmt: install ## Fix what ruff can fix
	$(BIN)/ruff check --fix kmsdet tests bench scripts

check: install ## ruff, as CI runs it
	$(BIN)/ruff check kmsdet tests bench scripts

bench: install ## Run every benchmark (figures and ratios against a baseline; some need make es-up)
	@for script in bench/bench_*.py; do echo "== $$script =="; $(BIN)/python $$script || exit 1; done

es-up: ## Start a local test Elasticsearch (from Maven Central, needs a JDK) and print its URL
	$(PYTHON) scripts/es_test_cluster.py up

es-down: ## Stop the local test Elasticsearch
	$(PYTHON) scripts/es_test_cluster.py down

sandbox-test: install ## Live rule tests in the docker-compose sandbox (needs Docker)
	$(BIN)/kmsdet sandbox up
	$(BIN)/kmsdet seed --target sandbox $(RULES)
	$(BIN)/kmsdet deploy --target sandbox $(RULES)
	$(BIN)/kmsdet test --backend kibana --target sandbox --skip-unsupported \
	  --junit reports/out/sandbox-junit.xml $(RULES)
	@echo "report: reports/out/sandbox-junit.xml"

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
