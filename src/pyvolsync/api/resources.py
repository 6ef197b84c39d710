"""Where the custom resources live in the Kubernetes API: group, version, kinds, plurals.

Upstream VolSync serves `volsync.backube/v1alpha1`; pyvolsync serves the very same resources so
that existing manifests, RBAC rules and admission policies keep working unchanged, plus the
perfectra1n/volsync fork's KopiaMaintenance in the same group and version.
"""

from __future__ import annotations

GROUP = "volsync.backube"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

SOURCE_KIND = "ReplicationSource"
SOURCE_PLURAL = "replicationsources"
DESTINATION_KIND = "ReplicationDestination"
DESTINATION_PLURAL = "replicationdestinations"
MAINTENANCE_KIND = "KopiaMaintenance"
MAINTENANCE_PLURAL = "kopiamaintenances"
