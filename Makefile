# Run `make help` for the targets. Everything runs from the pinned .venv.
SHELL := /bin/bash
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-19s %s\n", $$1, $$2}'

.PHONY: bootstrap
bootstrap: ## Install podman, runc, debootstrap and the pinned .venv (root, Debian 12)
	bash scripts/bootstrap.sh

.PHONY: image
image: bootstrap ## Build the lab's base images, Debian 13, 12 and testing (cached)
	HEAT_LAB_SUITE=trixie bash scripts/build-image.sh
	HEAT_LAB_SUITE=bookworm bash scripts/build-image.sh
	HEAT_LAB_SUITE=forky bash scripts/build-image.sh

.PHONY: lint
lint: bootstrap ## yamllint and ansible-lint (production profile)
	yamllint .
	ansible-lint

.PHONY: unit
unit: bootstrap ## pytest unit tests of the bundled modules
	pytest -q tests/unit

# Each lab starts from its prepared images (scripts/lab_prepared.py: built
# here when missing, when prepare's inputs changed or after a week), and its
# output is stamped into .cache/suite/SCENARIO.log for the time report.
PREPARED := python3 scripts/lab_prepared.py
STAMP = 2>&1 | python3 scripts/suite_times.py stamp .cache/suite/$(1).log

.PHONY: molecule
molecule: image ## Debian 13 lab end to end: create, prepare, safety tests, converge, idempotence, verify, destroy
	set -o pipefail; $(PREPARED) default molecule test --no-command-borders -s default $(call STAMP,default)
	@# Tear-down must leave nothing behind.
	@test -z "$$(podman ps -aq --filter name='^lab-controller$$')" || { echo "lab-controller left behind"; exit 1; }
	@! podman network exists heat-default || { echo "network heat-default left behind"; exit 1; }
	@echo "molecule: lab container and network removed"

.PHONY: molecule-upgrade
molecule-upgrade: image ## Debian 12: converge, idempotence, verify; then the upgrades to Debian 13 and to testing under a kept stack
	set -o pipefail; $(PREPARED) upgrade molecule test --no-command-borders -s upgrade $(call STAMP,upgrade)
	@test -z "$$(podman ps -aq --filter name='^upgrade-controller$$')" || { echo "upgrade-controller left behind"; exit 1; }
	@! podman network exists heat-upgrade || { echo "network heat-upgrade left behind"; exit 1; }
	@echo "molecule-upgrade: lab container and network removed"

.PHONY: molecule-testing
molecule-testing: image ## Debian testing (Heat 26): converge, idempotence, verify
	set -o pipefail; $(PREPARED) testing molecule test --no-command-borders -s testing $(call STAMP,testing)
	@test -z "$$(podman ps -aq --filter name='^testing-controller$$')" || { echo "testing-controller left behind"; exit 1; }
	@! podman network exists heat-testing || { echo "network heat-testing left behind"; exit 1; }
	@echo "molecule-testing: lab container and network removed"

# Debian unstable changes daily: run by hand, not by make test (README's
# platform table has the date of the last run).
.PHONY: molecule-unstable
molecule-unstable: image ## Debian unstable (Heat 27): the testing scenario from unstable's image
	HEAT_LAB_SUITE=sid bash scripts/build-image.sh
	set -o pipefail; $(PREPARED) unstable molecule test --no-command-borders -s testing $(call STAMP,unstable)
	@test -z "$$(podman ps -aq --filter name='^testing-controller$$')" || { echo "testing-controller left behind"; exit 1; }
	@! podman network exists heat-testing || { echo "network heat-testing left behind"; exit 1; }
	@echo "molecule-unstable: lab container and network removed"

.PHONY: molecule-multinode
molecule-multinode: image ## Several controllers behind haproxy over TLS: infra, lb, controller1, controller2 (+ a third added), end to end
	set -o pipefail; $(PREPARED) multinode molecule test --no-command-borders -s multinode $(call STAMP,multinode)
	@# Tear-down must leave nothing behind: the five containers and the network.
	@test -z "$$(podman ps -aq --filter name='^(infra|lb|controller[123])$$')" || { echo "multinode containers left behind"; exit 1; }
	@! podman network exists heat-multinode || { echo "network heat-multinode left behind"; exit 1; }
	@echo "molecule-multinode: containers and network removed"

# Labs at a time in make test: each lab takes 1-2 cores while it installs
# or converges and waits on its services the rest of the time, and the
# three together use under 10 of the 24 GiB (docs/testing.md has the
# measurements).
LANES ?= 3

.PHONY: test
test: lint unit image ## The whole test suite (what CI runs): lint, unit, then the labs, LANES at a time
	@# The Debian 13 lab (the longest) first: with LANES=2 it runs beside the
	@# Debian 12 upgrade and then multinode. Each scenario's output is
	@# printed whole when it ends, then where the time went.
	rm -rf .cache/suite && mkdir -p .cache/suite
	@# On a fresh machine, the longest lab's images first: the others build
	@# theirs (one at a time) while it runs. Nothing to do on a warm one.
	python3 scripts/suite_times.py sample .cache/suite/machine.samples & sampler=$$!; \
	  $(PREPARED) default true && \
	  $(MAKE) --no-print-directory -j$(LANES) --output-sync=target molecule molecule-upgrade molecule-multinode molecule-testing; rc=$$?; \
	  kill $$sampler; \
	  python3 scripts/suite_times.py report .cache/suite/{default,upgrade,multinode,testing}.log .cache/suite/machine.samples; \
	  exit $$rc

.PHONY: test-fast
test-fast: lint unit image ## Quick loop, not a replacement for make test: lint, unit, one converge + idempotence of the Debian 13 lab
	$(PREPARED) default bash -c 'molecule destroy -s default && molecule converge -s default \
	  && molecule idempotence -s default; rc=$$?; molecule destroy -s default; exit $$rc'

.PHONY: lab
lab: image ## Deploy Heat into the Debian 13 lab controller with site.yml (creates the lab if needed)
	$(PREPARED) default bash -c 'molecule create -s default && molecule prepare -s default'
	@# The operator's own command, outside molecule's 80-column frame, so that
	@# the guide's stack table at the end is printed as the guide prints it.
	ansible-playbook -i inventory/lab site.yml

.PHONY: lab-destroy
lab-destroy: bootstrap ## Remove the lab container
	molecule destroy -s default

.PHONY: benchmark
benchmark: image ## Measure converge and re-run times in the lab (prints a table, writes JSON)
	python3 scripts/benchmark.py
