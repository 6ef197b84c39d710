"""No secret value appears in any log line, event, status field or metric of the whole test run.

This test runs last in a session (``@pytest.mark.last``, see conftest.py) and reads what every
earlier test left: every operator's log and final metrics scrape, every cluster's component and
container logs, and every Event and status body written (from the audit log). It looks there
for the value of every Secret written during the session whose key looks secret (secretscan.py).

Run alone it still means something: it first drives its own syncs with deliberately distinctive
secrets, among them a password full of regular-expression metacharacters and repository URLs
with credentials in them (an S3 endpoint and a REST server that refuse every request, so restic
prints the repository URL in its error, as it does for a real unreachable bucket). The local
repository's backup and restore succeed; the others fail with their errors in status and events.
"""

from __future__ import annotations

import http.server
import itertools
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from localcluster import controlplane
from localcluster.testing import apply
from tests.integration.reconcile import helpers
from tests.security import secretscan
from tests.support import operator as support

PASSWORD = r"Pw.*+?^${}()|[]\ " + secrets.token_hex(4)
ACCESS_KEY_ID = "AKIASCAN" + secrets.token_hex(6).upper()
URL_SECRET = "sCaN+" + secrets.token_hex(8) + "=="
AWS_SECRET = "aws/" + secrets.token_hex(10) + "+SecretKey"
SESSION_TOKEN = "FwoGZXIvYXdzE" + secrets.token_hex(16)
REST_PASSWORD = "r3st$pass*" + secrets.token_hex(5)
DISTINCTIVE = (PASSWORD, URL_SECRET, AWS_SECRET, SESSION_TOKEN, REST_PASSWORD)


class RefusingServer(http.server.BaseHTTPRequestHandler):
    """An S3 or REST endpoint that refuses every request, as a bucket with a revoked key does."""

    BODY = (
        b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
        b"<Message>Access Denied</Message></Error>"
    )

    def refuse(self) -> None:
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(self.BODY)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(self.BODY)

    def do_GET(self) -> None:
        self.refuse()

    def do_HEAD(self) -> None:
        self.refuse()

    def do_POST(self) -> None:
        self.refuse()

    def do_PUT(self) -> None:
        self.refuse()

    def do_DELETE(self) -> None:
        self.refuse()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads the cluster's logs, not this server's."""


@pytest.fixture(scope="module")
def refusing_endpoint() -> Iterator[str]:
    """``127.0.0.1:<port>`` of a server refusing everything (movers share the host's network)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RefusingServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture(scope="module")
def operator(
    cluster: controlplane.ControlPlane, crds: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[support.Operator]:
    with support.running(cluster, tmp_path_factory.mktemp("operator")) as running:
        yield running


def repository_secrets(namespace: str, endpoint: str) -> list[dict[str, object]]:
    def secret(name: str, values: dict[str, str]) -> dict[str, object]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name},
            "stringData": values,
        }

    return [
        secret(
            "local",
            {"RESTIC_REPOSITORY": f"/repository/{namespace}/local", "RESTIC_PASSWORD": PASSWORD},
        ),
        secret(
            "s3",
            {
                "RESTIC_REPOSITORY": f"s3:http://{ACCESS_KEY_ID}:{URL_SECRET}@{endpoint}/bucket/app",
                "RESTIC_PASSWORD": PASSWORD,
                "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
                "AWS_SESSION_TOKEN": SESSION_TOKEN,
            },
        ),
        secret(
            "rest",
            {
                "RESTIC_REPOSITORY": f"rest:http://scanner:{REST_PASSWORD}@{endpoint}/app",
                "RESTIC_PASSWORD": PASSWORD,
            },
        ),
    ]


def sync(plane: controlplane.ControlPlane, namespace: str, kind: str, name: str) -> str:
    """Wait for the manual sync of ``name``; return its result (Successful or Failed)."""
    trigger = "restore-once" if kind == "replicationdestination" else "first"
    found = helpers.wait_for_manual_sync(plane, kind, name, namespace, trigger, timeout=180)
    return str(found["latestMoverStatus"]["result"])


def drive(plane: controlplane.ControlPlane, namespace: str, endpoint: str) -> None:
    """Backups and restores with the distinctive secrets: local ones succeed, remote ones fail."""
    apply(plane, *repository_secrets(namespace, endpoint), namespace=namespace)
    helpers.prepare_app(plane, namespace, secret=repository_secrets(namespace, endpoint)[0])
    apply(
        plane,
        *[helpers.replication_source(name, repository=name) for name in ("local", "s3", "rest")],
        namespace=namespace,
    )
    results = {
        name: sync(plane, namespace, "replicationsource", name) for name in ("local", "s3", "rest")
    }
    apply(
        plane,
        helpers.replication_destination("local-restore", repository="local"),
        helpers.replication_destination("s3-restore", repository="s3"),
        namespace=namespace,
    )
    for name in ("local-restore", "s3-restore"):
        results[name] = sync(plane, namespace, "replicationdestination", name)
    assert results == {
        "local": "Successful",
        "s3": "Failed",
        "rest": "Failed",
        "local-restore": "Successful",
        "s3-restore": "Failed",
    }
    # restic did name the repository in its error: the scan below has something to find.
    status = helpers.status(plane, "replicationsource", "s3", namespace)
    assert f"***@{endpoint}/bucket/app" in status["latestMoverStatus"]["logs"], status


@pytest.mark.last
def test_no_secret_value_reaches_a_log_an_event_a_status_or_a_metric(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: support.Operator,
    refusing_endpoint: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    drive(cluster, namespace, refusing_endpoint)
    operator.stop()  # its last metrics scrape is saved beside its log
    root = tmp_path_factory.getbasetemp()
    audit_logs = secretscan.audit_logs(root)
    assert cluster.audit_log in audit_logs

    found, too_short = secretscan.collect_secrets(controlplane.read_audit(audit_logs))
    values = {item.value for item in found}
    assert set(DISTINCTIVE) <= values, "the scan did not learn the test's own secrets"

    operator_files = [
        path for item in support.STARTED for path in (item.log_path, item.metrics_path)
    ]
    files = secretscan.log_files(root, extra=operator_files)
    assert operator.log_path in files and operator.metrics_path in files
    assert any(f"{namespace}_volsync-src-s3" in path.name for path in files), "no mover log read"
    bodies = list(secretscan.written_bodies(controlplane.read_audit(audit_logs)))
    leaks = secretscan.find_leaks(found, itertools.chain(secretscan.file_surfaces(files), bodies))
    print(
        f"looked for {len(found)} secret values ({len(too_short)} shorter than "
        f"{secretscan.SHORTEST} characters not sought) in {len(files)} files and "
        f"{len(bodies)} audited bodies"
    )
    assert not leaks, "secret values found:\n" + "\n".join(map(str, leaks[:50]))


def test_a_leak_would_be_found(tmp_path: Path) -> None:
    """The scanner finds each form of a value where it is, and nothing where it is not."""
    secret = secretscan.Secret(PASSWORD, "ns/s[RESTIC_PASSWORD]")
    surfaces = [
        ("plain", f"line one\nfailed with {PASSWORD} here\n"),
        ("encoded", "data: " + secret.needles()["base64"]),
        ("clean", "nothing to see: *** " + PASSWORD[:7]),
    ]
    leaks = secretscan.find_leaks([secret], surfaces)
    assert [(leak.surface, leak.form) for leak in leaks] == [
        ("plain", "as written"),
        ("encoded", "base64"),
    ]
    assert PASSWORD not in leaks[0].excerpt
    record = {
        "verb": "create",
        "objectRef": {"resource": "secrets", "namespace": "ns", "name": "s", "apiVersion": "v1"},
        "requestObject": {
            "stringData": {
                "RESTIC_REPOSITORY": f"s3:https://{ACCESS_KEY_ID}:{URL_SECRET}@host/bucket",
                "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
                "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "RESTIC_PASSWORD": "short",
            }
        },
    }
    found, too_short = secretscan.collect_secrets([record])
    assert {item.value for item in found} == {URL_SECRET, AWS_SECRET}
    assert [item.value for item in too_short] == ["short"]
