"""The operator's Prometheus metrics, scraped as Prometheus would, with upstream's labels.

After a backup the source is in sync, its duration was observed once, its last success time and
bytes added match its status; a source that never synced is out of sync; and once a source is
deleted its series disappear (upstream keeps reporting deleted objects as out of sync).
"""

from __future__ import annotations

import urllib.request

from localcluster import controlplane
from localcluster.testing import apply, wait_until
from prometheus_client import parser

from reconcile import conftest, helpers

SOURCE = "replicationsource"


def scrape(operator: conftest.Operator) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Return every sample the operator serves, keyed by name and labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{operator.metrics_port}/metrics") as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in parser.text_string_to_metric_families(text)
        for sample in family.samples
    }


def labels(name: str, namespace: str) -> frozenset[tuple[str, str]]:
    return frozenset(
        {"obj_name": name, "obj_namespace": namespace, "role": "source", "method": "restic"}.items()
    )


def series_of(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, namespace: str
) -> set[str]:
    """Return the names of the samples that carry the object's labels."""
    wanted = labels(name, namespace)
    return {metric for metric, found in samples if wanted <= found}


def test_metrics_follow_syncs_and_deleted_sources_disappear(
    cluster: controlplane.ControlPlane, namespace: str, operator: conftest.Operator
) -> None:
    helpers.prepare_app(cluster, namespace)
    apply(
        cluster,
        helpers.replication_source("app", trigger={"manual": "one"}),
        helpers.replication_source("never", paused=True),
        namespace=namespace,
    )
    found = helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "one")
    helpers.wait_for_reason(cluster, SOURCE, "never", namespace, "Paused")

    samples = scrape(operator)
    app, never = labels("app", namespace), labels("never", namespace)
    assert samples[("volsync_volume_out_of_sync", app)] == 0
    assert samples[("volsync_volume_out_of_sync", never)] == 1
    assert samples[("volsync_sync_duration_seconds_count", app)] == 1
    assert samples[("volsync_sync_duration_seconds_sum", app)] > 0
    last_sync = helpers.parse_time(found["lastSyncTime"]).timestamp()
    assert abs(samples[("pyvolsync_last_success_timestamp_seconds", app)] - last_sync) < 1
    assert samples[("pyvolsync_bytes_added_total", app)] == found["lastSyncResult"]["bytesAdded"]

    cluster.kubectl("delete", SOURCE, "app", "never", "-n", namespace)
    wait_until(
        lambda: (
            not (
                series_of(scrape(operator), "app", namespace)
                | series_of(scrape(operator), "never", namespace)
            )
        ),
        what="the deleted sources' series to disappear",
    )
