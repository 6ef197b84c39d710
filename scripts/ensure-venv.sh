#!/usr/bin/env bash
# Create the project's virtual environment (git-ignored, inside the checkout) and install the
# package with its development extras. Re-installs only when pyproject.toml changed.
set -euo pipefail
venv="${VENV:-.venv}"
stamp="$venv/.pyproject-stamp"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -e ".[dev]"
    echo "$want" > "$stamp"
fi
