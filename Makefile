# tweet-sentiment: every command a developer or CI runs. `make` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

include versions.env

PYTHON ?= python$(PYTHON_VERSION)
VENV ?= .venv
PY := $(VENV)/bin/python
TS_CACHE_DIR ?= $(HOME)/.cache/tweet-sentiment
export TS_CACHE_DIR
TOOLS_BIN := $(TS_CACHE_DIR)/tools/bin
export PATH := $(TOOLS_BIN):$(PATH)
PYTEST_ARGS ?=

##@ Local development

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"} /^##@/ {printf "\n\033[1m%s\033[0m\n", substr($$0, 5)} \
	  /^[a-zA-Z0-9_-]+:.*##/ {printf "  \033[36m%-22s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: dev
dev: $(VENV)/.installed ## Create/update .venv with both packages (editable) and the test deps

$(VENV)/.installed: constraints.txt tests/requirements.txt images/producer/requirements.txt \
                    images/spark-job/requirements.txt images/producer/pyproject.toml images/spark-job/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -r tests/requirements.txt \
	  -e images/producer -e images/spark-job
	@touch $@

.PHONY: fetch
fetch: ## Download Kafka, Spark's Kafka connector and Elasticsearch into $(TS_CACHE_DIR)
	python3 -m tests.services kafka fetch >/dev/null
	python3 -m tests.services es fetch >/dev/null
	python3 -m tests.services.spark_jars

.PHONY: tools
tools: ## Install helm, kubeconform and promtool (pinned) for the offline chart checks
	python3 -m tests.services.tools

.PHONY: lint
lint: dev ## ruff check + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

.PHONY: fmt
fmt: dev ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: test
test: dev fetch tools lint ## THE test command: install, start services, lint, run every test, stop what it started
	$(PY) -m pytest $(PYTEST_ARGS)

.PHONY: kafka-up kafka-down es-up es-down
kafka-up: ## Start a local single-node Kafka $(KAFKA_VERSION) (KRaft) on localhost:9092
	python3 -m tests.services kafka up
kafka-down: ## Stop the local Kafka
	python3 -m tests.services kafka down
es-up: ## Start a local single-node Elasticsearch $(ES_VERSION) on localhost:9200
	python3 -m tests.services es up
es-down: ## Stop the local Elasticsearch
	python3 -m tests.services es down

##@ Demo and benchmarks

.PHONY: demo
demo: dev fetch ## Run the whole pipeline on this machine (no API key) and print a summary
	$(PY) -m tests.services.demo run

.PHONY: demo-down
demo-down: ## Stop everything `make demo` left running
	$(PY) -m tests.services.demo down

.PHONY: bench
bench: dev fetch ## Measure throughput, latency and memory; writes docs/benchmarks.md
	$(PY) -m tests.bench

##@ Kubernetes (needs Docker, kind, kubectl; cannot run on the CI machine)

##@ Housekeeping

.PHONY: clean
clean: ## Remove the virtualenv and local caches of this checkout (not $(TS_CACHE_DIR))
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis demo-output
