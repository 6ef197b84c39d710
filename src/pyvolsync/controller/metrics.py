"""Prometheus metrics: upstream's three, plus what users asked for and upstream never added.

Upstream's names and labels (``obj_name``, ``obj_namespace``, ``role``, ``method``) are kept so
existing dashboards and alerts work. Added: when the last successful sync ended, failures,
bytes added, running movers and objects waiting for a mover slot. Unlike upstream, an object's
series are removed when it is deleted, so a deleted source does not stay "out of sync" forever.
"""

from __future__ import annotations

import dataclasses

import prometheus_client

LABELS = ("obj_name", "obj_namespace", "role", "method")
DEFAULT_METHOD = "restic"
"""The ``method`` label of an object that names no engine (upstream's mover)."""


@dataclasses.dataclass(frozen=True)
class Identity:
    """The label values of one object's series."""

    name: str
    namespace: str
    role: str
    method: str = DEFAULT_METHOD

    @property
    def labels(self) -> tuple[str, str, str, str]:
        """Return the label values in ``LABELS`` order."""
        return (self.name, self.namespace, self.role, self.method)


class Metrics:
    """The operator's metrics, registered in their own registry."""

    def __init__(self, registry: prometheus_client.CollectorRegistry | None = None) -> None:
        self.registry = registry or prometheus_client.CollectorRegistry()
        self.missed_intervals = prometheus_client.Counter(
            "volsync_missed_intervals",
            "Syncs that did not start within one scheduled interval",
            LABELS,
            registry=self.registry,
        )
        self.out_of_sync = prometheus_client.Gauge(
            "volsync_volume_out_of_sync",
            "1 while the object has missed its schedule or never synced, else 0",
            LABELS,
            registry=self.registry,
        )
        self.sync_duration = prometheus_client.Summary(
            "volsync_sync_duration_seconds",
            "How long syncs took",
            LABELS,
            registry=self.registry,
        )
        self.last_success = prometheus_client.Gauge(
            "pyvolsync_last_success_timestamp_seconds",
            "When the last successful sync ended (Unix time)",
            LABELS,
            registry=self.registry,
        )
        self.failures = prometheus_client.Counter(
            "pyvolsync_sync_failures",
            "Failed mover runs, by error kind",
            (*LABELS, "error_kind"),
            registry=self.registry,
        )
        self.bytes_added = prometheus_client.Counter(
            "pyvolsync_bytes_added",
            "Bytes backups added to the repository",
            LABELS,
            registry=self.registry,
        )
        self.repository_damaged = prometheus_client.Gauge(
            "pyvolsync_repository_damaged",
            "1 while the latest scheduled restic check of the repository found damage, else 0",
            LABELS,
            registry=self.registry,
        )
        self.backup_suspicious = prometheus_client.Gauge(
            "pyvolsync_backup_suspicious",
            "1 while a backup the anomaly guard found suspicious is not acknowledged (retention "
            "and prune are held), else 0",
            LABELS,
            registry=self.registry,
        )
        self.drill_failed = prometheus_client.Gauge(
            "pyvolsync_drill_failed",
            "1 while the latest restore drill of the source failed, else 0",
            LABELS,
            registry=self.registry,
        )
        self.hook_failed = prometheus_client.Gauge(
            "pyvolsync_hook_failed",
            "1 while a before- or after-backup hook of the source's latest sync failed, else 0",
            LABELS,
            registry=self.registry,
        )
        self.drill_last_success = prometheus_client.Gauge(
            "pyvolsync_drill_last_success_timestamp_seconds",
            "When the latest successful restore drill of the source ended (Unix time)",
            LABELS,
            registry=self.registry,
        )
        self.notifications = prometheus_client.Counter(
            "pyvolsync_notifications",
            "Notification messages per target, by result (sent, or failed after retries)",
            ("target", "result"),
            registry=self.registry,
        )
        self.movers_running = prometheus_client.Gauge(
            "pyvolsync_movers_running",
            "Mover syncs in progress (holding a mover slot)",
            registry=self.registry,
        )
        self.movers_waiting = prometheus_client.Gauge(
            "pyvolsync_movers_waiting",
            "Objects waiting for a mover slot",
            registry=self.registry,
        )
        self.ready = prometheus_client.Gauge(
            "pyvolsync_operator_ready",
            "1 while this operator leads and its watches have started, else 0",
            registry=self.registry,
        )
        self._failure_kinds: dict[Identity, set[str]] = {}

    def record_failure(self, identity: Identity, error_kind: str) -> None:
        """Count one failed mover run of ``identity``."""
        self._failure_kinds.setdefault(identity, set()).add(error_kind)
        self.failures.labels(*identity.labels, error_kind).inc()

    def forget(self, identity: Identity) -> None:
        """Remove every series of a deleted object."""
        for metric in (
            self.missed_intervals,
            self.out_of_sync,
            self.sync_duration,
            self.last_success,
            self.bytes_added,
            self.repository_damaged,
            self.backup_suspicious,
            self.drill_failed,
            self.hook_failed,
            self.drill_last_success,
        ):
            try:
                metric.remove(*identity.labels)
            except KeyError:
                continue
        for kind in self._failure_kinds.pop(identity, set()):
            self.failures.remove(*identity.labels, kind)

    def serve(self, port: int, *, address: str = "0.0.0.0") -> None:
        """Serve the metrics over HTTP on ``port`` (a background thread)."""
        prometheus_client.start_http_server(port, addr=address, registry=self.registry)
