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
KOPIA_VERSION ?= 0.23.1
export KOPIA_VERSION
KOPIA_DIR = $(PYVOLSYNC_CACHE)/kopia-$(KOPIA_VERSION)
# Tests and the demo find the pinned restic and kopia first on PATH.
TOOLS_PATH = $(RESTIC_DIR):$(KOPIA_DIR):$(abspath $(VENV))/bin:$(PATH)

.PHONY: venv restic kopia volsync-upstream chromium tools lint test test-fast chaos demo bench bench-mover crds deploy-manifests
.PHONY: localcluster-bin cluster-up cluster-down screenshots

venv:
	@./scripts/ensure-venv.sh

restic:
	@./scripts/ensure-restic.sh >/dev/null

# kopia built from its Go module (about 2 min cold, a 75 MB binary).
kopia:
	@./scripts/ensure-kopia.sh >/dev/null

tools: venv restic kopia

# Upstream VolSync's operator built from its Go module, for the migration round trip (make test
# builds it in the background while the suite runs).
volsync-upstream:
	@./scripts/ensure-volsync-upstream.sh >/dev/null

# Debian's Chromium for the console's browser tests (installed once with apt-get).
chromium:
	@./scripts/ensure-chromium.sh

# kube-apiserver, kube-controller-manager, kubectl, etcd, kustomize and helm (for the chart tests)
# built from Go modules into $(PYVOLSYNC_CACHE); only what is missing is built (about 6-12 min cold,
# see docs/localcluster.md; helm adds about 4 min).
localcluster-bin:
	@./localcluster/build/build.sh >/dev/null
	@./localcluster/build/build-helm.sh >/dev/null

# A local cluster in .localcluster/ (admin kubeconfig: .localcluster/kubeconfig).
cluster-up: venv localcluster-bin
	$(PY) -m localcluster up --dir .localcluster

cluster-down: venv
	$(PY) -m localcluster down --dir .localcluster

lint: venv
	$(VENV)/bin/ruff check src tests bench localcluster demo
	$(VENV)/bin/ruff format --check src tests bench localcluster demo
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: tools chromium localcluster-bin lint
	PATH="$(TOOLS_PATH)" PYTHON="$(PY)" ./scripts/run-tests.sh

# The console's pictures for docs/console.md, taken by its browser tests into docs/images/
# (git-ignored: images are not committed).
screenshots: tools chromium localcluster-bin
	PATH="$(TOOLS_PATH)" PYVOLSYNC_SCREENSHOTS="$(abspath docs/images)" $(PY) -m pytest \
		tests/integration/console -p no:cacheprovider -q

test-fast: tools
	PATH="$(TOOLS_PATH)" $(PY) -m pytest -x -q -m "not cluster and not tools"

# The fault-injection suite (tests/chaos; `make test` runs only its bad-input cases); the
# results table goes into docs/reliability.md.
CHAOS_SIZE ?= full
chaos: tools localcluster-bin
	PATH="$(TOOLS_PATH)" PYVOLSYNC_CHAOS_SIZE=$(CHAOS_SIZE) $(PY) -m pytest tests/chaos -p no:cacheprovider \
		--junitxml=bench/results/chaos.xml $(CHAOS_ARGS); status=$$?; \
		PYVOLSYNC_CHAOS_SIZE=$(CHAOS_SIZE) $(PY) -m tests.chaos.report bench/results/chaos.xml docs/reliability.md; \
		exit $$status

demo: tools localcluster-bin
	PATH="$(TOOLS_PATH)" $(PY) -m demo

bench-mover: tools
	PATH="$(TOOLS_PATH)" $(PY) -m bench.mover $(BENCH_ARGS)

# Every benchmark in one run (mover, operator scale, stampede, bootstrap); writes
# docs/benchmarks.md and docs/benchmarks.json. BENCH_SIZE=quick runs them all small.
BENCH_SIZE ?= full
bench: tools localcluster-bin
	PATH="$(TOOLS_PATH)" $(PY) -m bench.report --size $(BENCH_SIZE) $(BENCH_ARGS)

crds: venv
	$(PY) -m pyvolsync.api.crdgen deploy/crds
	cp deploy/crds/volsync.backube_*.yaml deploy/charts/pyvolsync/crds/

# The plain manifests of deploy/kustomize, rendered from the Helm chart.
deploy-manifests: localcluster-bin
	HELM="$$(./localcluster/build/build-helm.sh)" ./deploy/kustomize/render.sh
