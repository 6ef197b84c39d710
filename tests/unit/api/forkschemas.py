"""The perfectra1n/volsync fork's CRD schemas as test data, and the program that writes them.

The fork is upstream VolSync plus kopia, so its generated CRDs say exactly what the API server
accepts there for every mover section. `test_api_fork_schemas` compares our generated schemas
with them. They are committed in a reduced form (`data/fork_crd_schemas.json`): descriptions
dropped (facts only, no prose), and every embedded Kubernetes core type whose schema is the
one `pyvolsync.api.kubeschemas` holds replaced by its name, which keeps the file small and
shows any core type that differs. Refresh it from a checkout of the fork with

    python -m tests.unit.api.forkschemas FORK_CHECKOUT/config/crd/bases
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from collections.abc import Sequence
from typing import Any

import yaml

from pyvolsync.api import kubeschemas

DATA_FILE = pathlib.Path(__file__).with_name("data") / "fork_crd_schemas.json"
SOURCE = "perfectra1n/volsync 6966ac30 (v0.17.11) config/crd/bases"
PLURALS = ("replicationsources", "replicationdestinations", "kopiamaintenances")
CORE_TYPE_KEY = "x-core-type"


def without_descriptions(node: Any) -> Any:
    """Return a copy of a schema without its `description` keys."""
    if isinstance(node, dict):
        return {
            key: without_descriptions(value) for key, value in node.items() if key != "description"
        }
    if isinstance(node, list):
        return [without_descriptions(item) for item in node]
    return node


def _core_types() -> dict[str, str]:
    """Return each core type's schema (as JSON text, descriptions dropped) -> its name."""
    names = [*kubeschemas.ROOT_TYPES, "Quantity"]
    return {
        json.dumps(without_descriptions(kubeschemas.schema(name)), sort_keys=True): name
        for name in names
    }


def reduced(schema: Any) -> Any:
    """Return a schema without descriptions, each known core type replaced by its name."""
    return _named(without_descriptions(schema), _core_types())


def _named(node: Any, core_types: dict[str, str]) -> Any:
    """Return `node` with every subtree that is a known core type replaced by its name."""
    if not isinstance(node, dict):
        return node
    name = core_types.get(json.dumps(node, sort_keys=True))
    if name is not None:
        return {CORE_TYPE_KEY: name}
    result = dict(node)
    for key in ("properties", "additionalProperties", "items"):
        child = node.get(key)
        if key == "properties" and isinstance(child, dict):
            result[key] = {field: _named(value, core_types) for field, value in child.items()}
        elif isinstance(child, dict):
            result[key] = _named(child, core_types)
    return result


def crd_schema(document: dict[str, Any]) -> Any:
    """Return the openAPIV3Schema of a CRD document (its one version)."""
    return document["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def build(directory: pathlib.Path) -> dict[str, Any]:
    """Given the fork's config/crd/bases, return the document committed as DATA_FILE."""
    schemas = {}
    for plural in PLURALS:
        path = directory / f"volsync.backube_{plural}.yaml"
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        schemas[document["spec"]["names"]["kind"]] = reduced(crd_schema(document))
    return {"source": SOURCE, "schemas": schemas}


def load() -> dict[str, Any]:
    """Return the committed reduced schemas, keyed by kind."""
    schemas: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))["schemas"]
    return schemas


def main(argv: Sequence[str] | None = None) -> int:
    """Write DATA_FILE from the fork's CRD directory given on the command line."""
    parser = argparse.ArgumentParser(description="Reduce the fork's CRD schemas to test data.")
    parser.add_argument("directory", type=pathlib.Path)
    arguments = parser.parse_args(argv)
    DATA_FILE.parent.mkdir(exist_ok=True)
    text = json.dumps(build(arguments.directory), indent=1, sort_keys=True) + "\n"
    DATA_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {DATA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
