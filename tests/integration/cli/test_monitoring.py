"""The dashboard and the alerts in deploy/monitoring use only metrics the operator really serves.

A renamed metric would leave a dashboard panel empty and an alert silent, with nothing to say so.
This test runs a backup and a failing sync with the real operator, scrapes its metrics endpoint,
and checks that every metric name in every PromQL expression of the dashboard (panels and
template variables) and of the PrometheusRule is served.
"""

from __future__ import annotations

import json
import pathlib
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import yaml
from localcluster import controlplane
from localcluster.testing import apply
from prometheus_client import parser
from tests.integration.cli.conftest import Cli
from tests.integration.reconcile import helpers

MONITORING = pathlib.Path(__file__).resolve().parents[3] / "deploy" / "monitoring"
PROMQL_WORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
    | {"and", "or", "unless", "inf", "nan"}
)
SUFFIXES = {"counter": ("_total", "_created"), "summary": ("_count", "_sum", "_created")}


def metric_names(expression: str) -> set[str]:
    """Return the metric names a PromQL expression reads."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", " ", text)
    found = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end() :].lstrip()[:1]
        word = match.group()
        if following != "(" and word.lower() not in PROMQL_WORDS:
            found.add(word)
    return found


def dashboard_expressions(dashboard: dict[str, Any]) -> Iterator[str]:
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield target["expr"]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query", "")
        if variable["type"] == "query":
            argument = re.fullmatch(r"label_values\((.*),\s*\w+\)", query)
            yield argument.group(1) if argument else query


def rule_expressions(rule_file: dict[str, Any]) -> Iterator[str]:
    for group in rule_file["spec"]["groups"]:
        for rule in group["rules"]:
            yield str(rule["expr"])


def served_names(text: str) -> set[str]:
    """Return every series name the scrape holds, including families without samples yet."""
    names = set()
    for family in parser.text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def test_the_parser_finds_metric_names_and_skips_functions_labels_and_keywords() -> None:
    expression = (
        'sum by (error_kind) (increase(a_total{error_kind="x-y", b="}"}[1h])) / on(c) '
        "(time() - max(b_seconds offset 5m)) > 26 * 3600 and bool c"
    )
    assert metric_names(expression) == {"a_total", "b_seconds", "c"}


def test_every_metric_of_the_dashboard_and_the_alerts_is_served(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: Any,
    cli: Cli,
) -> None:
    apply(
        cluster,
        helpers.repository_secret("repo", path=f"{namespace}/app"),
        helpers.claim("data"),
        namespace=namespace,
    )
    helpers.run_shell(cluster, namespace, "write", claim_name="data", script="echo x > /data/x")
    apply(cluster, helpers.replication_source("app", copy_method="Direct"), namespace=namespace)
    helpers.wait_for_manual_sync(cluster, "replicationsource", "app", namespace, "first")
    apply(
        cluster,
        helpers.repository_secret("repo", path=f"{namespace}/app", password="wrong"),
        namespace=namespace,
    )
    assert cli("sync", "app", "-n", namespace, "--wait", "--timeout", "180").returncode == 1

    with urllib.request.urlopen(f"http://127.0.0.1:{operator.metrics_port}/metrics") as answer:
        scraped = answer.read().decode()
    served = served_names(scraped)
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    rules = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    used = {
        name
        for expression in [*dashboard_expressions(dashboard), *rule_expressions(rules)]
        for name in metric_names(expression)
    }
    assert {"pyvolsync_sync_failures_total", "pyvolsync_last_success_timestamp_seconds"} <= used
    assert used - served == set(), f"not served by the operator: {sorted(used - served)}"
    failures = [
        sample.labels
        for family in parser.text_string_to_metric_families(scraped)
        for sample in family.samples
        if sample.name == "pyvolsync_sync_failures_total"
    ]
    assert {"obj_name": "app", "obj_namespace": namespace, "role": "source", "method": "restic",
            "error_kind": "wrong-password"} in failures  # fmt: skip
