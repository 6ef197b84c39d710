"""The admin kubeconfig of the local cluster, with the certificates embedded.

Embedding keeps the file self-contained: kubectl, lightkube, kopf or any other client on the
machine can use it by path alone, and it stays valid while the PKI directory exists.
"""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from localcluster import certs

NAME = "localcluster"


def _embedded(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def write(path: Path, *, server: str, pki: certs.Pki) -> None:
    """Write a kubeconfig for the admin user (O=system:masters) of `server`."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": NAME,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": _embedded(pki.serving_ca),
                },
            }
        ],
        "users": [
            {
                "name": "admin",
                "user": {
                    "client-certificate-data": _embedded(pki.path("admin.crt")),
                    "client-key-data": _embedded(pki.path("admin.key")),
                },
            }
        ],
        "contexts": [
            {"name": NAME, "context": {"cluster": NAME, "user": "admin", "namespace": "default"}}
        ],
        "current-context": NAME,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)
