"""deploy/monitoring builds with kustomize into what Prometheus and Grafana's sidecar load.

Whether the metrics the files use exist is checked against a live operator in
tests/integration/cli/test_monitoring.py; this checks the shape: one PrometheusRule whose every
alert has an expression, a severity and a summary, and the dashboard as a labelled ConfigMap
holding valid dashboard JSON (unique panel ids, every query on the data source variable).
"""

from __future__ import annotations

import json

from tests.unit.deploy import deploy_tools

MONITORING = deploy_tools.ROOT / "deploy" / "monitoring"


def test_kustomize_builds_the_rule_and_the_dashboard_config_map() -> None:
    built = deploy_tools.documents(deploy_tools.run(deploy_tools.kustomize(), "build", MONITORING))
    by_kind = {item["kind"]: item for item in built}
    assert sorted(by_kind) == ["ConfigMap", "PrometheusRule"]

    rules = [
        rule for group in by_kind["PrometheusRule"]["spec"]["groups"] for rule in group["rules"]
    ]
    assert {rule["alert"] for rule in rules} >= {
        "VolSyncVolumeOutOfSync", "PyVolSyncRepeatedFailures", "PyVolSyncStaleLock",
        "PyVolSyncNoRecentBackup",
    }  # fmt: skip
    for rule in rules:
        assert rule["expr"].strip() and rule["labels"]["severity"], rule["alert"]
        assert "`pyvolsync " in rule["annotations"]["description"], (
            f"{rule['alert']} names the command that diagnoses it"
        )

    config_map = by_kind["ConfigMap"]
    assert config_map["metadata"]["labels"] == {"grafana_dashboard": "1"}
    dashboard = json.loads(config_map["data"]["grafana-dashboard.json"])
    panel_ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(panel_ids) == len(set(panel_ids))
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
