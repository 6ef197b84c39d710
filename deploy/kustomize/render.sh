#!/usr/bin/env bash
# Renders operator.yaml from the Helm chart, so the plain manifests never drift from it
# (tests/unit/deploy checks that they are equal). Run through `make deploy-manifests`; an
# argument writes elsewhere.
# Helm's own labels are dropped: these objects are not managed by Helm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
helm="${HELM:-helm}"
{
  echo "# Generated from deploy/charts/pyvolsync by deploy/kustomize/render.sh; do not edit."
  "$helm" template pyvolsync "$here/../charts/pyvolsync" --namespace volsync-system --skip-crds |
    sed -e '/^ *helm\.sh\/chart: /d' -e '/^ *app\.kubernetes\.io\/managed-by: Helm$/d'
} > "${1:-$here/operator.yaml}"
