"""Find secret values where users can read them: logs, events, status fields, metrics.

The values come from the kube-apiserver's audit log, which records every write to a Secret with
its body (localcluster/manifests/audit-policy.yaml): every key that looks secret
(``RESTIC_PASSWORD``, ``*_KEY``, ``*TOKEN*``, ``*PASSWORD*``, ``*SECRET*``) and the password
written into a URL (``s3:https://key:secret@host/...``, the ``RESTIC_REPOSITORY`` form). A value
is looked for as written, base64-encoded (as a Secret's ``data`` holds it) and URL-encoded.

The surfaces are what a user or an operator's administrator can read: every log file of the
session (each operator's log and metrics scrape, each cluster's component logs and container
logs) and the bodies of Event and status writes, as the audit log recorded them. The audit log
itself and the node's private state (volumes, the pods' secret files) are not surfaces.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|^KEY$", re.IGNORECASE)
URL_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:(?P<password>[^@\s/]+)@", re.IGNORECASE)
SHORTEST = 8
"""Values shorter than this are not looked for: ``wrong`` would be found in every log."""
SECRET_WRITES = frozenset({"create", "update", "patch"})
LOG_SUFFIXES = (".log",)
METRICS_NAME = "metrics.txt"
PRIVATE_NODE_DIRECTORIES = frozenset({"volumes", "snapshots", "nfs", "pods", "kubelet"})

JsonObject = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Secret:
    """One secret value and where it was set."""

    value: str
    origin: str
    """``namespace/name[key]`` of the Secret."""

    def needles(self) -> dict[str, str]:
        """The forms the value is looked for in, by name."""
        forms: dict[str, str] = {}
        for name, form in (
            ("as written", self.value),
            ("base64", base64.b64encode(self.value.encode()).decode()),
            ("URL-encoded", urllib.parse.quote(self.value, safe="")),
        ):
            if len(form) >= SHORTEST and form not in forms.values():
                forms[name] = form
        return forms


@dataclasses.dataclass(frozen=True)
class Leak:
    secret: Secret
    form: str
    surface: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.secret.origin} ({self.form}) in {self.surface}: {self.excerpt}"


def audit_logs(root: Path) -> list[Path]:
    """Every cluster's audit log (rotated files first) below ``root``: ``audit.log`` and
    ``audit-*.log`` beside a ``kube-apiserver.log``."""
    found = [
        path
        for path in root.rglob("audit*.log")
        if (path.name == "audit.log" or path.name.startswith("audit-"))
        and (path.parent / "kube-apiserver.log").exists()
    ]
    return sorted(found, key=lambda path: (str(path.parent), path.name == "audit.log", path.name))


def is_secret_write(record: JsonObject) -> bool:
    target = record.get("objectRef") or {}
    return (
        target.get("resource") == "secrets"
        and not target.get("apiGroup")
        and record.get("verb") in SECRET_WRITES
    )


def _decoded(data: JsonObject) -> dict[str, str]:
    values = {}
    for key, encoded in (data or {}).items():
        try:
            values[key] = base64.b64decode(str(encoded)).decode()
        except (ValueError, UnicodeDecodeError):
            continue
    return values


def secrets_in(record: JsonObject) -> list[Secret]:
    """The secret values of one audited Secret write (request and response bodies)."""
    target = record.get("objectRef") or {}
    values: dict[str, str] = {}
    for body in (record.get("requestObject"), record.get("responseObject")):
        if isinstance(body, dict):
            values |= _decoded(body.get("data") or {})
            values |= {key: str(value) for key, value in (body.get("stringData") or {}).items()}
    name = f"{target.get('namespace', '')}/{target.get('name', '')}"
    found = []
    for key, value in values.items():
        if SECRET_KEY.search(key):
            found.append(Secret(value, f"{name}[{key}]"))
        found += [
            Secret(match.group("password"), f"{name}[{key}] URL password")
            for match in URL_PASSWORD.finditer(value)
        ]
    return found


def collect_secrets(records: Iterable[JsonObject]) -> tuple[list[Secret], list[Secret]]:
    """Return the secrets long enough to look for, and those too short (reported, not sought)."""
    by_value: dict[str, Secret] = {}
    for record in records:
        if is_secret_write(record):
            for secret in secrets_in(record):
                by_value.setdefault(secret.value, secret)
    long_enough = [item for item in by_value.values() if len(item.value) >= SHORTEST]
    too_short = [item for item in by_value.values() if 0 < len(item.value) < SHORTEST]
    return long_enough, too_short


def written_bodies(records: Iterable[JsonObject]) -> Iterator[tuple[str, str]]:
    """(description, JSON text) of every audited write body other than a Secret's: Events,
    and pyvolsync objects with their status, as the writer sent them and as they were stored."""
    for record in records:
        if is_secret_write(record):
            continue
        target = record.get("objectRef") or {}
        for side in ("requestObject", "responseObject"):
            body = record.get(side)
            if body is None:
                continue
            resource = target.get("resource", "") + (
                "/" + target["subresource"] if target.get("subresource") else ""
            )
            where = (
                f"audited {record.get('verb')} {resource} {target.get('namespace', '')}/"
                f"{target.get('name', '')} by {(record.get('user') or {}).get('username')} "
                f"({side})"
            )
            yield where, json.dumps(body)


def _private(path: Path, root: Path) -> bool:
    """Whether ``path`` is node state no user reads (volume data, the pods' secret files)."""
    parts = path.relative_to(root).parts
    return any(
        parts[index] == "node" and parts[index + 1] in PRIVATE_NODE_DIRECTORIES
        for index in range(len(parts) - 1)
    )


def log_files(root: Path, extra: Iterable[Path] = ()) -> list[Path]:
    """Every log and metrics scrape below ``root`` (audit logs and private node state aside)."""
    found = {
        path
        for path in root.rglob("*")
        if path.is_file()
        and (path.name.endswith(LOG_SUFFIXES) or path.name == METRICS_NAME)
        and not _private(path, root)
    }
    found |= {path for path in extra if path.is_file()}
    return sorted(found - set(audit_logs(root)))


def _excerpt(text: str, needle: str) -> str:
    at = text.index(needle)
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    line = text[start : end if end >= 0 else len(text)]
    return line.replace(needle, "<SECRET>")[:300]


def find_leaks(secrets: Iterable[Secret], surfaces: Iterable[tuple[str, str]]) -> list[Leak]:
    """Every (secret form, surface) where the surface's text contains the secret."""
    needles = [
        (secret, form, text) for secret in secrets for form, text in secret.needles().items()
    ]
    leaks = []
    for surface, text in surfaces:
        for secret, form, needle in needles:
            if needle in text:
                leaks.append(Leak(secret, form, surface, _excerpt(text, needle)))
    return leaks


def file_surfaces(paths: Iterable[Path]) -> Iterator[tuple[str, str]]:
    for path in paths:
        yield str(path), path.read_text(errors="replace")
