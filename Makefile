# ecsk: two commands do everything on a fresh machine (Python 3.11+, Go 1.26+, make):
#   make demo   bring up the local cluster, install the CRDs, run the operator, apply a sample
#   make test   lint, unit tests, local cluster, integration tests (what CI runs)
SHELL := /bin/bash
.DEFAULT_GOAL := help

ECSK_HOME ?= $(HOME)/.cache/ecsk
PYTHON ?= python3
# One virtualenv per dependency set, outside the repository, so a fresh clone reuses it.
VENV := $(ECSK_HOME)/venv-$(shell cat pyproject.toml requirements-aws.txt | sha256sum | cut -c1-12)
BIN := $(VENV)/bin
ECSK := $(BIN)/ecsk
LOCAL_KUBECONFIG := $(ECSK_HOME)/kubeconfig
KIND_CLUSTER ?= ecsk
KIND_KUBECONFIG := $(ECSK_HOME)/kind-kubeconfig
IMAGE ?= ecsk-operator:dev
PYTEST_ARGS ?=

export ECSK_HOME
# This clone's sources win over whatever clone the shared virtualenv was installed from.
export PYTHONPATH := $(CURDIR)/operator

.PHONY: help venv demo test lint unit integration cluster-up cluster-down cluster-status crds \
        bench bench-scale kind-up kind-down kind-deploy kind-test image clean-cache

help:
	@echo "make demo    - local cluster + CRDs + operator + a sample service, then show the result"
	@echo "make test    - lint, unit and integration tests on the local cluster (CI runs this)"
	@echo "make unit | integration | lint | cluster-up | cluster-down | crds | bench"
	@echo "make kind-up | kind-test | kind-down | image   (need Docker; see README)"

$(VENV)/.installed: pyproject.toml requirements-aws.txt
	@echo ">> creating virtualenv $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps -r requirements-aws.txt
	touch $@

venv: $(VENV)/.installed

cluster-up: venv
	$(ECSK) cluster up

cluster-down: venv
	$(ECSK) cluster down

cluster-status: venv
	$(ECSK) cluster status

crds: venv
	$(BIN)/python -m ecsk.core.schema.crds crds

lint: venv
	$(BIN)/ruff check operator tests bench
	$(BIN)/ruff format --check operator tests bench
	$(BIN)/mypy
	cd $(CURDIR) && $(BIN)/lint-imports

unit: venv
	$(BIN)/python -m pytest tests/unit -q $(PYTEST_ARGS)

integration: cluster-up
	KUBECONFIG=$(LOCAL_KUBECONFIG) $(BIN)/python -m pytest tests/integration -m integration -q $(PYTEST_ARGS)

# The test command: static checks first (cheap), then one pytest run over unit and integration
# tests against the local cluster, so there is a single summary line.
test: lint cluster-up
	KUBECONFIG=$(LOCAL_KUBECONFIG) $(BIN)/python -m pytest tests -q $(PYTEST_ARGS)

demo: cluster-up
	KUBECONFIG=$(LOCAL_KUBECONFIG) $(BIN)/python -m ecsk.cli.demo

bench: cluster-up
	$(BIN)/python bench/render_bench.py
	KUBECONFIG=$(LOCAL_KUBECONFIG) $(BIN)/python bench/service_bench.py

bench-scale: cluster-up
	KUBECONFIG=$(LOCAL_KUBECONFIG) $(BIN)/python bench/scale_bench.py

# ---- the kind path (needs a Docker engine; not available on our build machines) ----
KWOK_RELEASE := https://github.com/kubernetes-sigs/kwok/releases/download/v0.8.0

# kwok in the kind cluster simulates the nodes that Fargate and capacity providers create
# (annotated kwok.x-k8s.io/node=fake); the three real kind workers stay real.
kind-up:
	kind create cluster --name $(KIND_CLUSTER) --config kind/kind-config.yaml --kubeconfig $(KIND_KUBECONFIG)
	KUBECONFIG=$(KIND_KUBECONFIG) kubectl apply -f $(KWOK_RELEASE)/kwok.yaml
	KUBECONFIG=$(KIND_KUBECONFIG) kubectl apply -f $(KWOK_RELEASE)/stage-fast.yaml

kind-down:
	kind delete cluster --name $(KIND_CLUSTER) --kubeconfig $(KIND_KUBECONFIG)

image:
	docker build -t $(IMAGE) .

kind-deploy: image
	kind load docker-image $(IMAGE) --name $(KIND_CLUSTER)
	KUBECONFIG=$(KIND_KUBECONFIG) kubectl apply -k manifests/
	KUBECONFIG=$(KIND_KUBECONFIG) kubectl -n ecsk-system set image deployment/ecsk-operator operator=$(IMAGE) metrics-adapter=$(IMAGE)
	KUBECONFIG=$(KIND_KUBECONFIG) kubectl -n ecsk-system rollout status deployment/ecsk-operator --timeout=180s

kind-test: venv
	KUBECONFIG=$(KIND_KUBECONFIG) $(BIN)/python -m pytest tests/integration -m integration -q $(PYTEST_ARGS)

clean-cache:
	rm -rf $(ECSK_HOME)
