"""The YAML examples of the user docs are objects the cluster and the operator accept.

Every ```yaml block of docs/usage.md, docs/troubleshooting.md and docs/migration.md is created
with a server-side dry run (the API server checks it against the installed CRDs and core
schemas, nothing is stored), and every ReplicationSource and ReplicationDestination among them
also passes pyvolsync's own validation, the one the operator applies before it runs a sync.
"""

from __future__ import annotations

import json
import pathlib
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from localcluster import controlplane

from pyvolsync.api import validation

DOCS = pathlib.Path(__file__).resolve().parents[3] / "docs"
DOCUMENTED = ("usage.md", "troubleshooting.md", "migration.md")
VALIDATORS: dict[str, Callable[[Any], list[validation.Problem]]] = {
    "ReplicationSource": validation.validate_source,
    "ReplicationDestination": validation.validate_destination,
}
YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.DOTALL | re.MULTILINE)


def examples(page: str) -> list[dict[str, Any]]:
    """Return every object of every YAML block of ``page``."""
    text = (DOCS / page).read_text()
    return [
        document
        for block in YAML_BLOCK.findall(text)
        for document in yaml.safe_load_all(block)
        if document
    ]


def test_the_pages_have_examples() -> None:
    kinds = {item["kind"] for item in examples("usage.md")}
    assert {"Secret", "ReplicationSource", "ReplicationDestination"} <= kinds


@pytest.mark.parametrize("page", DOCUMENTED)
def test_every_example_is_accepted_by_the_api_server_and_the_operator(
    cluster: controlplane.ControlPlane, namespace: str, crds: None, page: str
) -> None:
    for example in examples(page):
        name = f"{example['kind']} {example['metadata']['name']} in {page}"
        created = cluster.kubectl(
            "create", "--dry-run=server", "-o", "json", "-n", namespace, "-f", "-",
            input_text=json.dumps(example), check=False,
        )  # fmt: skip
        assert created.returncode == 0, f"{name}: {created.stderr}"
        if example["kind"] in VALIDATORS:
            stored = json.loads(created.stdout)
            assert stored["spec"] == example["spec"], f"{name}: the API server pruned fields"
            assert VALIDATORS[example["kind"]](example) == [], name
