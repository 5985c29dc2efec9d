# CreditShare: `make demo` and `make test` set everything up first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMPS := .stamps
SOLC_VERSION := 0.8.37
SOL_SOURCES := $(shell find contracts -name '*.sol')
# compiled contracts (abi, bytecode) as package data of creditshare (generated, not in git)
ARTIFACTS := creditshare/core/artifacts
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
# py-solc-x (and so brownie) looks for compilers in this checkout, never in ~/.solcx;
# the test session (tests/checkout_plugin.py) sets the same folder
export SOLCX_BINARY_PATH := $(CURDIR)/$(STAMPS)/solcx
SOLC_SHIM := $(SOLCX_BINARY_PATH)/solc-v$(SOLC_VERSION)

.PHONY: setup compile lint test demo serve bench clean help

help:
	@echo "make setup    virtual environment, npm packages, offline solc, compiled contracts"
	@echo "make lint     setup, then ruff (lint and format), mypy and the import layers (lint-imports)"
	@echo "make test     setup, kubo, geth and chromium, then the whole test suite (Anvil, Kubo, geth, a browser)"
	@echo "make kubo     build Kubo (IPFS) v0.39.0 with Go into ~/.cache/creditshare (once)"
	@echo "make geth     build go-ethereum v1.13.15 (the Clique network engine) with Go into ~/.cache/creditshare (once)"
	@echo "make demo-network  setup and geth, then a smaller demo market on a 4-node geth Clique network"
	@echo "make bench-network setup and geth, then the network benchmarks (20,000 settlements; BENCH_NETWORK_ARGS=--quick: 2,000); writes bench/results/network.json"
	@echo "make demo     setup, then the main job on the persistent local chain"
	@echo "make serve    after make demo: the first demo lender's web console on http://127.0.0.1:8080/"
	@echo "make bench    setup, then every benchmark; writes bench/results/latest.json"
	@echo "make audit    slither over contracts/; fails on findings not excused in audit/slither-triage.json"

setup: $(STAMPS)/python $(STAMPS)/npm $(SOLC_SHIM) $(STAMPS)/compile
	@echo "==> setup complete"

$(STAMPS)/python: requirements.txt requirements-dev.txt pyproject.toml
	@echo "==> Python virtual environment in $(VENV): pinned requirements.txt and requirements-dev.txt, this package editable"
	@mkdir -p $(STAMPS)
	@test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	@$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	@# openmined-psi pins protobuf 6.30.2 while ortools needs >=6.33.1; its protobuf
	@# gencode runs on the newer runtime, so it is installed without its own pins
	@$(PIP) install --quiet --disable-pip-version-check --no-deps openmined-psi==2.0.6
	@$(PIP) install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(STAMPS)/npm: package.json package-lock.json
	@echo "==> installing npm packages (solc-js, Anvil, OpenZeppelin) from package-lock.json"
	@mkdir -p $(STAMPS)
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# py-solc-x (and so brownie) finds this executable through SOLCX_BINARY_PATH and never
# downloads a compiler; it finds the wrapper relative to itself, so it stays valid if the
# checkout moves
$(SOLC_SHIM): scripts/solc_wrapper.js $(STAMPS)/npm
	@echo "==> registering npm solc $(SOLC_VERSION) with py-solc-x in this checkout ($(STAMPS)/solcx)"
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec node "$$(dirname "$$0")/../../scripts/solc_wrapper.js" "$$@"\n' > $@
	@chmod +x $@

$(STAMPS)/compile: $(STAMPS)/python $(STAMPS)/npm $(SOLC_SHIM) brownie-config.yaml scripts/export_artifacts.py $(SOL_SOURCES)
	@echo "==> compiling contracts (brownie, solc $(SOLC_VERSION), evm paris); abi and bytecode into $(ARTIFACTS)"
	@$(VENV)/bin/brownie compile > $(STAMPS)/compile.log 2>&1 || (cat $(STAMPS)/compile.log; exit 1)
	@$(PY) scripts/export_artifacts.py build/contracts $(ARTIFACTS) >> $(STAMPS)/compile.log 2>&1 \
		|| (cat $(STAMPS)/compile.log; exit 1)
	@touch $@

# the package's artifacts were removed (e.g. by hand): compile and export again
ifeq ($(wildcard $(ARTIFACTS)/*.json),)
$(STAMPS)/compile: FORCE
endif
.PHONY: FORCE
FORCE:

compile: $(STAMPS)/compile

# the code's own checks, run by .ci/run beside the tests
LINTED := creditshare oracle privacy scoring bench tests
lint: $(STAMPS)/python
	@echo "==> ruff: lint and format check"
	@$(VENV)/bin/ruff check $(LINTED)
	@$(VENV)/bin/ruff format --check $(LINTED)
	@echo "==> mypy (disallow_untyped_defs) on creditshare, oracle, privacy, scoring"
	@$(VENV)/bin/mypy creditshare oracle privacy scoring
	@echo "==> lint-imports: the layers (pyproject.toml [tool.importlinter])"
	@$(VENV)/bin/lint-imports

# Debian's chromium for the browser tests (tests/web, marker browser): Playwright drives it by its path,
# since `playwright install` cannot download browsers here
CHROMIUM_STAMP := $(STAMPS)/chromium
$(CHROMIUM_STAMP):
	@command -v chromium >/dev/null || { echo "==> installing Debian's chromium for the browser tests (apt-get)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }
	@mkdir -p $(STAMPS) && touch $@

test: setup kubo geth $(CHROMIUM_STAMP)
	@echo "==> running the test suite (pytest with brownie's plugin; it starts this checkout's Anvil on" \
		"127.0.0.1:$$($(PY) -c 'from creditshare.core.config import dev_chain_port; print(dev_chain_port())')," \
		"or on a free port if another process holds that one)"
	@$(PY) -m pytest -p no:cacheprovider tests

# Kubo (IPFS) for the evidence network (creditshare ipfs, the tests marked ipfs): built with Go into a
# versioned cache outside the checkout, once (creditshare.core.ipfs.kubo_binary finds it there). v0.40+ carry
# an `exclude` block in go.mod that `go install pkg@version` refuses. Built with Go 1.25 (the go command fetches
# that toolchain from the module proxy): under Go 1.26 a dependency, github.com/cockroachdb/swiss (through pebble),
# does not compile (its runtime hooks are limited to go1.20 && !go1.26: "undefined: hashFn, fastrand64").
KUBO_VERSION := 0.39.0
KUBO_GOTOOLCHAIN := go1.25.14
KUBO_DIR := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/creditshare/kubo-v$(KUBO_VERSION)
KUBO := $(KUBO_DIR)/bin/ipfs
.PHONY: kubo
kubo: $(KUBO)
$(KUBO):
	@echo "==> building Kubo v$(KUBO_VERSION) with Go into $(KUBO_DIR) (once: about 15 min cold on 2 busy cores, seconds with a warm Go cache)"
	@mkdir -p $(KUBO_DIR)/bin
	@cd $(KUBO_DIR) && start=$$(date +%s) \
		&& GOTOOLCHAIN=$(KUBO_GOTOOLCHAIN) GOBIN=$(KUBO_DIR)/bin GOFLAGS=-buildvcs=false go install github.com/ipfs/kubo/cmd/ipfs@v$(KUBO_VERSION) \
		&& echo "==> Kubo built in $$(( $$(date +%s) - start )) s: $$($(KUBO) version)"

# go-ethereum for the consortium network (creditshare network, the tests marked network): v1.13.15 is the last
# release that seals Clique blocks. Built with Go into a versioned cache outside the checkout, once
# (creditshare.core.network.geth_binary finds it there). -checklinkname=0: fjl/memsize (reached only through
# --pprof, never enabled) does not link on Go >= 1.23 otherwise (go-ethereum#30100).
GETH_VERSION := 1.13.15
GETH_DIR := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/creditshare/geth-v$(GETH_VERSION)
GETH := $(GETH_DIR)/bin/geth
.PHONY: geth
geth: $(GETH)
$(GETH):
	@echo "==> building go-ethereum v$(GETH_VERSION) with Go into $(GETH_DIR) (once: about 4 min cold on 2 busy cores, seconds with a warm Go cache)"
	@mkdir -p $(GETH_DIR)/bin
	@cd $(GETH_DIR) && start=$$(date +%s) \
		&& CGO_ENABLED=1 GOBIN=$(GETH_DIR)/bin GOFLAGS=-buildvcs=false go install -ldflags=-checklinkname=0 github.com/ethereum/go-ethereum/cmd/geth@v$(GETH_VERSION) \
		&& echo "==> geth built in $$(( $$(date +%s) - start )) s: $$($(GETH) version | head -2 | tail -1)"

# static analysis (slither) in its own environment: solc-select, a slither dependency, installs
# a `solc` command that must not land in .venv/bin, on the PATH of brownie and the tests.
# `make audit AUDIT_FLAGS=--report-only` prints the findings without failing.
AUDIT_VENV := .venv-audit
.PHONY: audit
$(STAMPS)/audit: requirements-audit.txt
	@echo "==> slither in $(AUDIT_VENV): pinned requirements-audit.txt"
	@mkdir -p $(STAMPS)
	@test -x $(AUDIT_VENV)/bin/python || python3.11 -m venv $(AUDIT_VENV) || python3 -m venv $(AUDIT_VENV)
	@$(AUDIT_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-audit.txt
	@$(AUDIT_VENV)/bin/pip check --disable-pip-version-check
	@touch $@

audit: $(STAMPS)/audit $(STAMPS)/npm $(SOLC_SHIM)
	@echo "==> slither over contracts/ (scripts/audit.py), findings checked against audit/slither-triage.json"
	@$(AUDIT_VENV)/bin/python scripts/audit.py $(AUDIT_FLAGS)

demo: setup
	@echo "==> running the demo on the persistent local chain"
	@$(VENV)/bin/creditshare demo

# the demo's first lender's console, after `make demo` (one member's console on loopback, not a public site)
serve: setup
	@echo "==> the console of demobank1 on http://127.0.0.1:8080/ (Ctrl-C stops it)"
	@CREDITSHARE_PASSWORD_FILE=data/demo-password $(VENV)/bin/creditshare serve --account demobank1 --port 8080

bench: setup kubo
	@echo "==> running the benchmarks (bench/results/latest.json)"
	@$(PY) bench/run.py

# the benchmarks on a 4-node geth Clique network (settlement ingest, capacity ratio and what limits it, finality
# latency); BENCH_NETWORK_ARGS passes options (--quick, --gas-limit N) to bench/network_bench.py
.PHONY: bench-network demo-network
BENCH_NETWORK_ARGS ?=
bench-network: setup geth
	@echo "==> running the network benchmarks on a 4-node geth network (bench/results/network.json)"
	@$(PY) bench/network_bench.py $(BENCH_NETWORK_ARGS) --out bench/results/network.json

demo-network: setup geth
	@echo "==> running the demo (a smaller market) on a 4-node geth Clique network"
	@$(PY) -m creditshare.demo.network

clean:
	rm -rf build $(STAMPS) reports $(ARTIFACTS)
