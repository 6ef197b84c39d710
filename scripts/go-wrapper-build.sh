#!/usr/bin/env bash
# Build one package of a released Go module into a file, without `go install pkg@version`:
# that command reads the module's version list (for deprecation notices), which the module
# proxy refuses here. A throw-away wrapper module requiring the release builds it instead.
# Usage: go-wrapper-build.sh MODULE VERSION PACKAGE OUTPUT [FILES-TO-COPY-FROM-THE-MODULE DEST]
set -euo pipefail
module="$1" version="$2" package="$3" output="$4"
wrapper="$(mktemp -d)"
trap 'rm -rf "$wrapper"' EXIT
printf 'module pyvolsync.local/wrapper\n\ngo 1.25\n\nrequire %s %s\n' "$module" "$version" \
    >"$wrapper/go.mod"
(cd "$wrapper" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
    go build -mod=mod -trimpath -o "$output" "$package")
if [ "$#" -ge 6 ]; then
    source_dir="$(cd "$wrapper" && go list -mod=mod -m -f '{{.Dir}}' "$module")"
    cp "$source_dir"/$5 "$6"
    chmod -R u+w "$6"
fi
