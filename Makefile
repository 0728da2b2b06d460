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
dev: $(VENV)/.installed ## Create/update .venv with the three packages (editable), the test and the dev-tools deps

$(VENV)/.installed: constraints.txt tests/requirements.txt devtools/requirements.txt images/producer/requirements.txt \
                    images/spark-job/requirements.txt images/producer/pyproject.toml images/spark-job/pyproject.toml \
                    packages/common/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -r tests/requirements.txt -r devtools/requirements.txt \
	  -e packages/common -e images/producer -e images/spark-job
	@touch $@

SCHEMA_DIR := images/producer/src/tweet_producer/schemas

.PHONY: schemas
schemas: dev ## Regenerate the event/dead-letter JSON Schema files from the contract models
	$(PY) -m tweet_sentiment_common.generate $(SCHEMA_DIR)

.PHONY: docs
docs: dev ## Rewrite the generated tables (configuration, metrics, chart values, model and benchmark summaries) from their sources
	$(PY) -m devtools.docs

.PHONY: train-model
train-model: dev ## Train the sentiment models (tweet-lr on TweetEval, multi-lr on UMSAB, ../shared), write them and their cards; then make docs
	$(PY) -m devtools.train_model
	$(PY) -m devtools.train_multilingual
	$(PY) -m devtools.docs

.PHONY: fetch
fetch: dev ## Download Kafka, Spark's Kafka connector and Elasticsearch, and compile the job's jar, into $(TS_CACHE_DIR)
	$(PY) -m devtools.services kafka fetch >/dev/null
	$(PY) -m devtools.services es fetch >/dev/null
	$(PY) -m devtools.services.spark_jars

.PHONY: tools
tools: ## Install helm, kubeconform and promtool (pinned) for the offline chart checks
	python3 -m devtools.services.tools

.PHONY: lint
lint: dev ## ruff check + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

.PHONY: typecheck
typecheck: dev ## mypy --strict on every source package (configured in pyproject.toml [tool.mypy])
	$(VENV)/bin/mypy

.PHONY: fmt
fmt: dev ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

FUZZ_SECONDS ?= 60

.PHONY: fuzz
fuzz: dev ## Fuzz the parsers, the contract and the job's prepare + score pass (atheris, FUZZ_SECONDS=60 per target); findings in docs/reliability.md
	$(PY) -m devtools.fuzz --seconds $(FUZZ_SECONDS)

.PHONY: test
test: dev fetch tools cluster-build images lint typecheck ## THE test command: install, build the cluster binaries and images, start services, lint, type-check, run every test, stop what it started
	$(PY) -m pytest $(PYTEST_ARGS)

.PHONY: kafka-up kafka-down es-up es-down
kafka-up: ## Start a local single-node Kafka $(KAFKA_VERSION) (KRaft) on localhost:9092
	python3 -m devtools.services kafka up
kafka-down: ## Stop the local Kafka
	python3 -m devtools.services kafka down
es-up: ## Start a local single-node Elasticsearch $(ES_VERSION) on localhost:9200
	python3 -m devtools.services es up
es-down: ## Stop the local Elasticsearch
	python3 -m devtools.services es down

##@ Local Kubernetes cluster (tests/k8s)

.PHONY: cluster-build cluster-up cluster-down cluster-status
cluster-build: ## Build the local cluster's Kubernetes/CoreDNS binaries and images into $(TS_CACHE_DIR) (once: ~15 min cold)
	python3 -m devtools.cluster build
cluster-up: ## Start the local single-node Kubernetes $(K8S_CLUSTER_VERSION) of tests/k8s (root; reuses a running one)
	python3 -m devtools.cluster up
	@echo "export KUBECONFIG=$$(python3 -c 'from devtools.cluster import kubeconfig; print(kubeconfig())')"
cluster-down: ## Stop the local cluster and undo its host changes (bridge, iptables, mounts, sysctls)
	python3 -m devtools.cluster down
cluster-status: ## Show the local cluster's daemons, node, CoreDNS, kubeconfig and logs
	python3 -m devtools.cluster status

##@ Images

.PHONY: images images-status images-down
images: ## Build both product images from their Dockerfiles on test-only stand-in bases; tarballs in $(TS_CACHE_DIR)/images
	@# Starts a Docker engine of its own (Debian's dockerd) when none answers; skips everything
	@# when the sources did not change. Not for publishing: see devtools/images/README.md.
	python3 -m devtools.images build
images-status: ## Image references, tarballs, stand-ins and the Docker engine in use
	python3 -m devtools.images status
images-down: ## Stop the Docker engine `make images` started (never one it did not start)
	python3 -m devtools.images down

##@ Demo and benchmarks

.PHONY: demo
demo: dev fetch ## Run the whole pipeline on this machine (no API key) and print a summary
	$(PY) -m devtools.demo run

.PHONY: demo-down
demo-down: ## Stop everything `make demo` left running
	$(PY) -m devtools.demo down

.PHONY: bench
bench: dev fetch ## Measure throughput, latency, cost and memory; writes docs/benchmarks.md and the README's summary of it
	$(PY) -m devtools.bench
	$(PY) -m devtools.docs

##@ Kubernetes (needs Docker, kind, kubectl; cannot run on the CI machine)

KIND ?= kind
KUBECTL ?= kubectl
HELM ?= helm
DOCKER ?= docker
KIND_CLUSTER ?= tweet-sentiment
K8S_NAMESPACE ?= tweet-sentiment
MONITORING_NAMESPACE ?= monitoring
IMAGE_TAG ?= dev
RELEASE ?= tweet-sentiment
K8S_WAIT ?= 900s
KN := $(KUBECTL) -n $(K8S_NAMESPACE)

.PHONY: up k8s-prereqs k8s-cluster k8s-operators k8s-infra k8s-images k8s-app
up: k8s-prereqs k8s-cluster k8s-operators k8s-infra k8s-images k8s-app ## kind cluster, operators, Kafka + Elasticsearch/Kibana (dev), both images, the chart; waits until ready
	@echo "tweet-sentiment is up. Kibana: make port-forward-kibana   Grafana: make port-forward-grafana"

k8s-prereqs:
	@for tool in $(DOCKER) $(KIND) $(KUBECTL) $(HELM) openssl; do \
	  command -v $$tool >/dev/null || { echo "make up needs '$$tool' on PATH (helm: make tools)"; exit 1; }; done
	@$(DOCKER) info >/dev/null 2>&1 || { echo "make up needs a running Docker engine"; exit 1; }

k8s-cluster:
	@$(KIND) get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)' || \
	  $(KIND) create cluster --name $(KIND_CLUSTER) --image $(KIND_NODE_IMAGE) --wait 180s
	$(KUBECTL) config use-context kind-$(KIND_CLUSTER)
	$(KUBECTL) create namespace $(K8S_NAMESPACE) --dry-run=client -o yaml | $(KUBECTL) apply -f -

k8s-operators:
	$(HELM) repo add prometheus-community https://prometheus-community.github.io/helm-charts --force-update
	$(HELM) repo add elastic https://helm.elastic.co --force-update
	$(HELM) repo add spark-operator https://kubeflow.github.io/spark-operator --force-update
	$(HELM) repo update prometheus-community elastic spark-operator
	@# Prometheus picks up every monitor/rule labelled release=kube-prometheus-stack; the
	@# Grafana sidecar loads dashboards labelled grafana_dashboard=1 from all namespaces.
	$(HELM) upgrade --install kube-prometheus-stack prometheus-community/kube-prometheus-stack \
	  --version $(KUBE_PROMETHEUS_STACK_VERSION) -n $(MONITORING_NAMESPACE) --create-namespace \
	  --set grafana.sidecar.dashboards.searchNamespace=ALL --wait --timeout 10m
	$(HELM) upgrade --install strimzi oci://quay.io/strimzi-helm/strimzi-kafka-operator \
	  --version $(STRIMZI_VERSION) -n strimzi --create-namespace \
	  --set 'watchNamespaces={$(K8S_NAMESPACE)}' --wait --timeout 10m
	$(HELM) upgrade --install eck-operator elastic/eck-operator \
	  --version $(ECK_VERSION) -n elastic-system --create-namespace --wait --timeout 10m
	@# The chart brings the driver's ServiceAccount and Role; the operator only has to watch
	@# our namespace (its webhook mounts the secrets and volumes into driver/executor pods).
	$(HELM) upgrade --install spark-operator spark-operator/spark-operator \
	  --version $(SPARK_OPERATOR_VERSION) -n spark-operator --create-namespace \
	  --set 'spark.jobNamespaces={$(K8S_NAMESPACE)}' --set spark.serviceAccount.create=false \
	  --set spark.rbac.create=false --set webhook.enable=true --wait --timeout 10m

k8s-infra:
	$(KN) apply -k k8s/strimzi/dev
	@# The job's Elasticsearch user (file realm): a random password that never touches git.
	@$(KN) get secret tweets-es-job-user >/dev/null 2>&1 || \
	  $(KN) create secret generic tweets-es-job-user --type=kubernetes.io/basic-auth \
	    --from-literal=username=tweet-sentiment-job --from-literal=roles=tweet_sentiment_writer \
	    --from-literal=password="$$(openssl rand -hex 24)"
	$(KN) apply -k k8s/eck/dev
	$(KN) wait kafka/tweets --for=condition=Ready --timeout=$(K8S_WAIT)
	$(KN) wait kafkatopic/posts kafkatopic/posts.deadletter --for=condition=Ready --timeout=$(K8S_WAIT)
	$(KN) wait kafkauser/tweet-producer kafkauser/tweet-sentiment-job --for=condition=Ready --timeout=$(K8S_WAIT)
	$(KN) wait elasticsearch/tweets --for=jsonpath='{.status.health}'=green --timeout=$(K8S_WAIT)
	$(KN) wait kibana/tweets --for=jsonpath='{.status.health}'=green --timeout=$(K8S_WAIT)

k8s-images:
	@# Both images build from the repository root: they install packages/common too. No
	@# BASE_IMAGE build argument: users build on the real Docker Hub bases (python slim and
	@# apache/spark, pinned in the Dockerfiles); only `make images` swaps in test stand-ins.
	$(DOCKER) build -t tweet-sentiment/producer:$(IMAGE_TAG) -f images/producer/Dockerfile .
	$(DOCKER) build -t tweet-sentiment/spark-job:$(IMAGE_TAG) -f images/spark-job/Dockerfile .
	$(KIND) load docker-image --name $(KIND_CLUSTER) tweet-sentiment/producer:$(IMAGE_TAG) tweet-sentiment/spark-job:$(IMAGE_TAG)

k8s-app:
	@# --wait: the producer Deployment is ready and both hooks (index template, Kibana
	@# saved objects) succeeded.
	$(HELM) upgrade --install $(RELEASE) charts/tweet-sentiment -n $(K8S_NAMESPACE) \
	  -f charts/tweet-sentiment/values-dev.yaml \
	  --set producer.image.tag=$(IMAGE_TAG) --set job.image.tag=$(IMAGE_TAG) --wait --timeout 15m
	$(KN) wait sparkapplication/$(RELEASE)-job \
	  --for=jsonpath='{.status.applicationState.state}'=RUNNING --timeout=$(K8S_WAIT)

.PHONY: port-forward-kibana port-forward-grafana down
port-forward-kibana: ## Kibana on https://localhost:5601 (prints the elastic user's password first)
	@echo "user: elastic  password: $$($(KN) get secret tweets-es-elastic-user -o go-template='{{.data.elastic | base64decode}}')"
	$(KN) port-forward svc/tweets-kb-http 5601

port-forward-grafana: ## Grafana on http://localhost:3000 (prints the admin password first)
	@echo "user: admin  password: $$($(KUBECTL) -n $(MONITORING_NAMESPACE) get secret kube-prometheus-stack-grafana -o go-template='{{index .data "admin-password" | base64decode}}')"
	$(KUBECTL) -n $(MONITORING_NAMESPACE) port-forward svc/kube-prometheus-stack-grafana 3000:80

down: ## Delete the kind cluster (and everything in it)
	$(KIND) delete cluster --name $(KIND_CLUSTER)

##@ Housekeeping

.PHONY: clean
clean: ## Remove the virtualenv and local caches of this checkout (not $(TS_CACHE_DIR))
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis demo-output
