# The two set-up commands of the README are `make demo` and `make test`; every other target is
# a building block they call. Built tools live in $(PYVOLSYNC_CACHE), outside the checkout.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
PYVOLSYNC_CACHE ?= $(HOME)/.cache/pyvolsync
export PYVOLSYNC_CACHE
VENV ?= .venv
PY := $(VENV)/bin/python
RESTIC_VERSION ?= 0.18.1
export RESTIC_VERSION
RESTIC_DIR = $(PYVOLSYNC_CACHE)/restic-$(RESTIC_VERSION)
# Tests and the demo find the pinned restic first on PATH.
TOOLS_PATH = $(RESTIC_DIR):$(abspath $(VENV))/bin:$(PATH)

.PHONY: venv restic tools lint test test-fast demo bench bench-mover crds

venv:
	@./scripts/ensure-venv.sh

restic:
	@./scripts/ensure-restic.sh >/dev/null

tools: venv restic

lint: venv
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: tools lint
	PATH="$(TOOLS_PATH)" $(PY) -m pytest

test-fast: tools
	PATH="$(TOOLS_PATH)" $(PY) -m pytest -x -q -m "not cluster"

demo: tools
	PATH="$(TOOLS_PATH)" $(PY) -m pyvolsync.demo

bench-mover: tools
	PATH="$(TOOLS_PATH)" $(PY) bench/mover.py

bench: bench-mover

crds: venv
	$(PY) -m pyvolsync.api.crdgen deploy/crds
