# Run `make help` for the targets. Everything runs from the pinned .venv.
SHELL := /bin/bash
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-19s %s\n", $$1, $$2}'

.PHONY: bootstrap
bootstrap: ## Install podman, runc, debootstrap and the pinned .venv (root, Debian 12)
	bash scripts/bootstrap.sh

.PHONY: image
image: bootstrap ## Build the lab's base image (cached)
	bash scripts/build-image.sh

.PHONY: lint
lint: bootstrap ## yamllint and ansible-lint (production profile)
	yamllint .
	ansible-lint

.PHONY: unit
unit: bootstrap ## pytest unit tests of the bundled modules
	pytest -q tests/unit

.PHONY: molecule
molecule: image ## The lab end to end: create, prepare, converge, idempotence, verify, destroy
	molecule test -s default
	@# Tear-down must leave nothing behind.
	@test -z "$$(podman ps -aq --filter name='^lab-controller$$')" || { echo "lab-controller left behind"; exit 1; }
	@echo "molecule: lab container removed"

.PHONY: molecule-multinode
molecule-multinode: image ## Several controllers: infra + controller1, controller2 (+ a third added), end to end
	molecule test -s multinode
	@# Tear-down must leave nothing behind: the four containers and the network.
	@test -z "$$(podman ps -aq --filter name='^(infra|controller[123])$$')" || { echo "multinode containers left behind"; exit 1; }
	@! podman network exists heat-multinode || { echo "network heat-multinode left behind"; exit 1; }
	@echo "molecule-multinode: containers and network removed"

.PHONY: test
test: lint unit molecule molecule-multinode ## The whole test suite (what CI runs)

.PHONY: lab
lab: image ## Deploy Heat into the lab controller with site.yml (creates the lab if needed)
	molecule converge -s default

.PHONY: lab-destroy
lab-destroy: bootstrap ## Remove the lab container
	molecule destroy -s default

.PHONY: benchmark
benchmark: image ## Measure converge and re-run times in the lab (prints a table, writes JSON)
	python3 scripts/benchmark.py
