"""kopia as a ``Mover``: the perfectra1n/volsync fork's environment contract and identities.

A source's Job runs ``backup`` (kopia applies the retention policy at the end of each snapshot,
so there is no separate forget or prune); a destination's runs ``restore``. Repository
maintenance is not a source's business: one KopiaMaintenance per repository owns it, so two
owners never garbage-collect at once. Snapshots are filed under the fork's identities
(``<name>@<namespace>:/data`` unless overridden), so a repository written by the fork restores
with pyvolsync and the other way round.
"""

from __future__ import annotations

import datetime
import json
import re

from pyvolsync import contract
from pyvolsync.api import defaults, destination, source
from pyvolsync.contract import KopiaEnvVar as Var
from pyvolsync.kube import quantities
from pyvolsync.movers import base, protocol

CONTAINER_NAME = "kopia"
DATA_MOUNT = "/data"
CACHE_MOUNT = "/cache"
USERNAME_LIMIT = 50
METADATA_CACHE_SHARE = 0.7
CONTENT_CACHE_SHARE = 0.2
"""Shares of the cache volume kopia's metadata and content caches may fill (the fork's)."""
MEBIBYTE = 2**20

REQUIRED_SECRET_KEYS = (str(Var.REPOSITORY), str(Var.PASSWORD))
# Keys of the repository Secret passed to kopia when present: the backends' (the fork's list).
OPTIONAL_SECRET_KEYS = (
    "KOPIA_S3_BUCKET", "KOPIA_S3_ENDPOINT", "KOPIA_S3_DISABLE_TLS",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
    "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_S3_ENDPOINT", "AWS_S3_DISABLE_TLS",
    "KOPIA_B2_BUCKET", "B2_ACCOUNT_ID", "B2_APPLICATION_KEY",
    "KOPIA_AZURE_CONTAINER", "KOPIA_AZURE_STORAGE_ACCOUNT", "KOPIA_AZURE_STORAGE_KEY",
    "AZURE_ACCOUNT_NAME", "AZURE_ACCOUNT_KEY", "AZURE_ACCOUNT_SAS", "AZURE_ENDPOINT_SUFFIX",
    "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN",
    "KOPIA_GCS_BUCKET", "GOOGLE_PROJECT_ID",
    "SFTP_HOST", "SFTP_PORT", "SFTP_USERNAME", "SFTP_PATH", "SFTP_PASSWORD", "SFTP_KEY_FILE",
    "SFTP_KNOWN_HOSTS", "SFTP_KNOWN_HOSTS_DATA",
    "WEBDAV_URL", "WEBDAV_USERNAME", "WEBDAV_PASSWORD",
)  # fmt: skip
RETAIN_VARIABLES = (
    ("hourly", Var.RETAIN_HOURLY),
    ("daily", Var.RETAIN_DAILY),
    ("weekly", Var.RETAIN_WEEKLY),
    ("monthly", Var.RETAIN_MONTHLY),
    ("yearly", Var.RETAIN_YEARLY),
    ("latest", Var.RETAIN_LATEST),
)
NOT_A_USERNAME_CHARACTER = re.compile(r"[^A-Za-z0-9_-]")


class Kopia:
    """The kopia engine (``spec.kopia``)."""

    name = "kopia"
    required_secret_keys = REQUIRED_SECRET_KEYS

    def section(self, spec: protocol.Spec) -> protocol.EngineSpec | None:
        return spec.kopia

    def operations_due(self, schedule: protocol.Schedule) -> tuple[contract.Operation, ...]:
        return (contract.Operation.BACKUP,)

    def restore_operations(self) -> tuple[contract.Operation, ...]:
        return (contract.Operation.RESTORE,)

    def container(self, plan: protocol.ContainerRequest) -> protocol.Container:
        return protocol.Container(
            name=CONTAINER_NAME,
            command=("pyvolsync-mover", "kopia"),
            plain_environment=_plain_environment(plan),
            optional_secret_keys=tuple(
                key for key in OPTIONAL_SECRET_KEYS if key in plan.secret_keys
            ),
        )

    async def resolve(
        self, spec: protocol.EngineSpec, *, namespace: str, find_source: protocol.SourceLookup
    ) -> protocol.Resolved:
        chosen = getattr(spec, "source_identity", None)
        if not isinstance(spec, destination.KopiaDestinationSpec) or chosen is None:
            return protocol.Resolved(spec=spec)
        if not chosen.source_name or (spec.repository and chosen.source_path_override):
            return protocol.Resolved(spec=spec)
        where = chosen.source_namespace or namespace
        found = await find_source(where, chosen.source_name)
        section = ((found or {}).get("spec") or {}).get("kopia")
        if not isinstance(section, dict):
            missing = "does not exist" if found is None else "has no spec.kopia"
            note = (f"spec.kopia.sourceIdentity names ReplicationSource "
                    f"{where}/{chosen.source_name}, which {missing}")  # fmt: skip
            return protocol.Resolved(spec=spec, note=note)
        return protocol.Resolved(spec=_completed(spec, section))

    def settle(self, state: base.SyncState) -> base.SyncState:
        return state

    def record(
        self,
        status: protocol.Status,
        spec: protocol.EngineSpec,
        state: base.SyncState,
        *,
        now: datetime.datetime,
        owner_key: str,
    ) -> protocol.Recorded:
        metadata_limit, content_limit = _cache_limits(spec)
        kopia_status: source.KopiaSourceStatus | destination.KopiaDestinationStatus
        if isinstance(status, source.ReplicationSourceStatus):
            kopia_status = status.kopia or source.KopiaSourceStatus()
            status.kopia = kopia_status
        else:
            restored = status.kopia or destination.KopiaDestinationStatus()
            namespace, name = owner_key.split("/", 1)
            parts = identity(spec, owner_name=name, owner_namespace=namespace)
            restored.requested_identity = identity_of(parts)
            status.kopia = restored
            kopia_status = restored
        kopia_status.last_configured_metadata_cache_size_limit_mb = metadata_limit
        kopia_status.last_configured_content_cache_size_limit_mb = content_limit
        return protocol.Recorded()


def _completed(
    spec: destination.KopiaDestinationSpec, source_section: dict[str, object]
) -> destination.KopiaDestinationSpec:
    """Fill the destination's unset repository and source path from its source's section."""
    chosen = spec.source_identity
    assert chosen is not None
    path = chosen.source_path_override or source_section.get("sourcePathOverride")
    repository = spec.repository or source_section.get("repository")
    return spec.model_copy(
        update={
            "repository": repository if isinstance(repository, str) else spec.repository,
            "source_identity": chosen.model_copy(
                update={"source_path_override": path if isinstance(path, str) else None}
            ),
        }
    )


def source_username(name: str) -> str:
    """The fork's username for a ReplicationSource: its name reduced to [A-Za-z0-9_-], at most
    50 characters."""
    return NOT_A_USERNAME_CHARACTER.sub("", name)[:USERNAME_LIMIT] or "volsync"


def identity(
    spec: protocol.EngineSpec, *, owner_name: str, owner_namespace: str
) -> tuple[str, str, str]:
    """(username, hostname, path) the snapshots of this object are filed under.

    A source: its ``username``/``hostname`` else its name and namespace; a destination: its
    own overrides, else ``sourceIdentity`` (the source's name and namespace), else its own name
    and namespace. The path is the source path override, else ``/data``.
    """
    username = getattr(spec, "username", None)
    hostname = getattr(spec, "hostname", None)
    path = getattr(spec, "source_path_override", None) or DATA_MOUNT
    chosen = getattr(spec, "source_identity", None)
    if isinstance(spec, destination.KopiaDestinationSpec) and chosen is not None:
        path = chosen.source_path_override or path
        if not username and chosen.source_name:
            username = source_username(chosen.source_name)
            hostname = hostname or chosen.source_namespace or owner_namespace
    return (
        username or source_username(owner_name),
        hostname or owner_namespace,
        path,
    )


def identity_of(parts: tuple[str, str, str]) -> str:
    """``user@host:/path``, as kopia names a snapshot source."""
    username, hostname, path = parts
    return f"{username}@{hostname}:{path}"


def _cache_limits(spec: protocol.EngineSpec) -> tuple[int, int]:
    """(metadata, content) cache limits in MiB: as set, else the fork's shares of the cache."""
    whole = quantities.to_bytes(defaults.cache_capacity(spec)) // MEBIBYTE
    metadata = getattr(spec, "metadata_cache_size_limit_mb", None)
    content = getattr(spec, "content_cache_size_limit_mb", None)
    return (
        metadata if metadata is not None else int(whole * METADATA_CACHE_SHARE),
        content if content is not None else int(whole * CONTENT_CACHE_SHARE),
    )


def _plain_environment(plan: protocol.ContainerRequest) -> tuple[tuple[str, str], ...]:
    spec = plan.spec
    namespace, name = plan.owner_key.split("/", 1)
    username, hostname, path = identity(spec, owner_name=name, owner_namespace=namespace)
    metadata_limit, content_limit = _cache_limits(spec)
    env: list[tuple[str, str]] = [
        (contract.EnvVar.DATA_DIR, DATA_MOUNT),
        (Var.CACHE_DIR, CACHE_MOUNT),
        (Var.OVERRIDE_USERNAME, username),
        (Var.OVERRIDE_HOSTNAME, hostname),
        (Var.SOURCE_PATH_OVERRIDE, path if path != DATA_MOUNT else ""),
        (Var.METADATA_CACHE_SIZE_LIMIT_MB, str(metadata_limit)),
        (Var.CONTENT_CACHE_SIZE_LIMIT_MB, str(content_limit)),
        (contract.EnvVar.PROGRESS_INTERVAL, str(plan.progress_interval_seconds)),
    ]
    if isinstance(spec, source.KopiaSourceSpec):
        env += _source_environment(spec)
    if isinstance(spec, destination.KopiaDestinationSpec):
        env += _destination_environment(spec)
    additional = getattr(spec, "additional_args", None)
    if additional:
        # One JSON list: each argument stays one argument (no word splitting in the mover).
        env.append((Var.ADDITIONAL_ARGS, json.dumps(list(additional))))
    return tuple(env)


def _source_environment(spec: source.KopiaSourceSpec) -> list[tuple[str, str]]:
    env: list[tuple[str, str]] = []
    if spec.compression:
        env.append((Var.COMPRESSION, spec.compression))
    if spec.parallelism is not None:
        env.append((Var.PARALLELISM, str(spec.parallelism)))
    for field, variable in RETAIN_VARIABLES:
        value = getattr(spec.retain, field, None) if spec.retain else None
        if value is not None:
            env.append((variable, str(value)))
    if spec.actions and spec.actions.before_snapshot:
        env.append((Var.BEFORE_SNAPSHOT, spec.actions.before_snapshot))
    if spec.actions and spec.actions.after_snapshot:
        env.append((Var.AFTER_SNAPSHOT, spec.actions.after_snapshot))
    return env


def _destination_environment(spec: destination.KopiaDestinationSpec) -> list[tuple[str, str]]:
    env: list[tuple[str, str]] = [(Var.PREVIOUS, str(spec.previous or 0))]
    if spec.restore_as_of:
        env.append((Var.RESTORE_AS_OF, spec.restore_as_of))
    if spec.shallow is not None:
        env.append((Var.SHALLOW, str(spec.shallow)))
    if spec.enable_file_deletion:
        env.append((Var.ENABLE_FILE_DELETION, "true"))
    return env
