# ecsk: two commands do everything on a fresh machine (Python 3.11+, Go 1.26+, make):
#   make demo   bring up the local cluster, install the CRDs, run the operator, apply a sample
#   make test   lint, unit tests, local cluster, integration tests (what CI runs)
SHELL := /bin/bash
.DEFAULT_GOAL := help

ECSK_HOME ?= $(HOME)/.cache/ecsk
PYTHON ?= python3
# One virtualenv per dependency set, outside the repository, so a fresh clone reuses it.
VENV := $(ECSK_HOME)/venv-$(shell sha256sum pyproject.toml | cut -c1-12)
BIN := $(VENV)/bin
ECSK := $(BIN)/ecsk
LOCAL_KUBECONFIG := $(ECSK_HOME)/kubeconfig
IMAGE ?= ecsk-operator:dev
PYTEST_ARGS ?=

export ECSK_HOME
# This clone's sources win over whatever clone the shared virtualenv was installed from.
export PYTHONPATH := $(CURDIR)/operator

.PHONY: help venv demo test lint unit integration cluster-up cluster-down cluster-status crds \
        bench bench-scale kind-host-prep kind-build kind-up kind-status kind-down kind-test image \
        clean-cache

help:
	@echo "make demo    - local cluster + CRDs + operator + a sample service, then show the result"
	@echo "make test    - lint, unit and integration tests on the local cluster (CI runs this)"
	@echo "make unit | integration | lint | cluster-up | cluster-down | crds | bench"
	@echo "make kind-up | kind-test | kind-status | kind-down | kind-build | image   (need Docker; see README)"
	@echo "make kind-host-prep  - CI/build hosts only: install and start Docker (root, Debian)"

$(VENV)/.installed: pyproject.toml
	@echo ">> creating virtualenv $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
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
# tests against the local cluster; then the real-container suite on kind where a Docker engine
# answers (a laptop without Docker is told it was not run; never installs one). CI sets
# ECSK_REQUIRE_KIND=1 after `ecsk kind host-prep`, so a missing engine fails there.
test: lint cluster-up
	KUBECONFIG=$(LOCAL_KUBECONFIG) $(BIN)/python -m pytest tests -q --ignore=tests/integration/kind $(PYTEST_ARGS)
	@if [ -n "$$ECSK_REQUIRE_KIND" ] || $(ECSK) kind check >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory kind-test; \
	else \
	  echo ">> real-container suite NOT run: $$($(ECSK) kind check 2>&1 | tail -1)"; \
	fi

demo: cluster-up
	KUBECONFIG=$(LOCAL_KUBECONFIG) $(BIN)/python -m ecsk.cli.demo

bench: cluster-up
	$(BIN)/python bench/render_bench.py
	KUBECONFIG=$(LOCAL_KUBECONFIG) $(BIN)/python bench/service_bench.py

bench-scale: cluster-up
	KUBECONFIG=$(LOCAL_KUBECONFIG) $(BIN)/python bench/scale_bench.py

# ---- the kind path: real containers (needs a Docker engine; see README "The kind path") ----
# Every image that cannot be pulled is built locally from Go modules and Debian packages and
# cached by version (docker images + $(ECSK_HOME)/bin); logs of every build step in
# $(ECSK_HOME)/kind/logs. `kind-host-prep` is for CI/build hosts only (root, Debian, no systemd):
# it installs docker.io and starts dockerd; it is never run by the other targets.
kind-host-prep: venv
	$(ECSK) kind host-prep

kind-build: venv
	$(ECSK) kind build

kind-up: venv
	$(ECSK) kind up

kind-status: venv
	$(ECSK) kind status

kind-down: venv
	$(ECSK) kind down

# The real-container suite (tests/integration/kind, marker `kind`) against the cluster of `make kind-up`.
kind-test: kind-up
	$(BIN)/python -m pytest tests/integration/kind -m kind -q $(PYTEST_ARGS)

image:
	docker build -t $(IMAGE) .

clean-cache:
	rm -rf $(ECSK_HOME)
