"""What the kopia sections of both kinds, and KopiaMaintenance, share.

Kopia is pyvolsync's second engine, with the API of the perfectra1n/volsync fork: a
`spec.kopia` section on ReplicationSource and ReplicationDestination and a KopiaMaintenance
kind. Both kopia sections name a repository Secret, size kopia's caches, may read kopia policy
files, and may override the identity (user@host) snapshots are filed under; those parts live
here, once, next to the vocabulary the validator checks them against (compression names,
identity characters, the options additionalArgs must not carry).
"""

from __future__ import annotations

from typing import Annotated

import pydantic

from pyvolsync.api import common, wire

# The fork's pattern for a username or hostname override: letters and digits, with dots,
# underscores and hyphens inside. The CRD carries it; the validator explains a mismatch.
IDENTITY_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._-]*[a-zA-Z0-9]$|^[a-zA-Z0-9]$"
# A path inside a snapshot: absolute.
ABSOLUTE_PATH_PATTERN = r"^/.*"
MAX_ADDITIONAL_ARGS = 20

# The compression names kopia v0.23.1 accepts in a policy: those registered in its
# repo/compression package, plus "none" (no compression). lz4 and zstd-best-compression are
# deprecated there (kept for reading old repositories) but still accepted.
COMPRESSIONS: tuple[str, ...] = (
    "none",
    "deflate-best-compression",
    "deflate-best-speed",
    "deflate-default",
    "gzip",
    "gzip-best-compression",
    "gzip-best-speed",
    "lz4",
    "pgzip",
    "pgzip-best-compression",
    "pgzip-best-speed",
    "s2-better",
    "s2-default",
    "s2-parallel-4",
    "s2-parallel-8",
    "zstd",
    "zstd-best-compression",
    "zstd-better-compression",
    "zstd-fastest",
)

Identity = Annotated[wire.Str, pydantic.Field(json_schema_extra={"pattern": IDENTITY_PATTERN})]
AbsolutePath = Annotated[
    wire.Str, pydantic.Field(json_schema_extra={"pattern": ABSOLUTE_PATH_PATTERN})
]
AdditionalArgs = Annotated[
    list[wire.Str], pydantic.Field(json_schema_extra={"maxItems": MAX_ADDITIONAL_ARGS})
]


class KopiaCacheLimits(wire.FrozenWireModel):
    """Hard limits of kopia's two caches inside the cache volume."""

    metadata_cache_size_limit_mb: wire.Int32 | None = None
    """Limit of kopia's metadata cache in MB; 0 is unlimited (unset: 70% of the cache volume)."""
    content_cache_size_limit_mb: wire.Int32 | None = None
    """Limit of kopia's content cache in MB; 0 is unlimited (unset: 20% of the cache volume)."""


class KopiaPolicyConfig(wire.FrozenWireModel):
    """Kopia policy files for the mover: from a Secret or a ConfigMap, or written inline."""

    secret_name: wire.Str | None = None
    """Secret holding the policy files (set this or configMapName, not both)."""
    config_map_name: wire.Str | None = None
    """ConfigMap holding the policy files (set this or secretName, not both)."""
    global_policy_filename: wire.Str | None = None
    """Key of the global policy JSON file (global-policy.json when unset)."""
    repository_config_filename: wire.Str | None = None
    """Key of the repository configuration file (repository.config when unset)."""
    repository_config: wire.Str | None = None
    """Repository configuration written inline, as a JSON document."""


class KopiaSpecBase(common.EngineSpecBase, KopiaCacheLimits):
    """What the kopia sections of sources and destinations both have."""

    policy_config: KopiaPolicyConfig | None = None
    """Kopia policy files to apply."""
    username: Identity | None = None
    """User part of the snapshots' identity (user@host:path) instead of the generated one."""
    hostname: Identity | None = None
    """Host part of the snapshots' identity instead of the generated one (the namespace)."""
    additional_args: AdditionalArgs | None = None
    """Extra options for the kopia snapshot or restore command, one per item (--flag=value)."""


class KopiaCacheStatus(wire.WireModel):
    """The cache limits the mover last applied, so that an unchanged limit is not set again."""

    last_configured_metadata_cache_size_limit_mb: wire.Int32 | None = None
    """The metadata cache limit last applied, in MB."""
    last_configured_content_cache_size_limit_mb: wire.Int32 | None = None
    """The content cache limit last applied, in MB."""
