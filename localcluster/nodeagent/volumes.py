"""A pod's volumes as host directories, ready to be bind-mounted into its containers.

| volume                 | host directory                                              |
|------------------------|-------------------------------------------------------------|
| persistentVolumeClaim  | the bound PV's directory (waits until the claim is Bound);  |
|                        | a static ``nfs`` PV maps like an ``nfs`` volume             |
| emptyDir               | ``pods/<uid>/volumes/<name>`` (mode 0777)                    |
| secret, configMap,     | ``pods/<uid>/volumes/<name>``, files written with their     |
| downwardAPI, projected | modes; serviceAccountToken through the TokenRequest API      |
| hostPath               | the path itself (created for DirectoryOrCreate/FileOrCreate) |
| nfs                    | ``nfs/<server>/<path>``, created on demand (mode 0777)       |

fsGroup is applied as a kubelet does: group ownership, group read (and write for writable
volumes), setgid directories. Secret/configMap contents are written once, when the pod starts.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import pathlib

from lightkube.models import authentication_v1, meta_v1
from lightkube.models import core_v1 as core_models
from lightkube.resources import core_v1

from localcluster.nodeagent import context, envs, faults, kube, provisioner

Files = list[tuple[str, bytes, int]]


class VolumeNotReadyError(Exception):
    """The pod cannot start yet; ``reason`` is reported on its containers."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclasses.dataclass(frozen=True)
class PreparedVolume:
    source: pathlib.Path
    read_only: bool = False
    fault: faults.VolumeFault = dataclasses.field(default_factory=faults.VolumeFault)


def apply_fs_group(path: pathlib.Path, group: int, *, writable: bool) -> None:
    """Give ``group`` access to every file under ``path`` (kubelet's SetVolumeOwnership)."""
    file_bits = 0o660 if writable else 0o440
    for directory, _, names in os.walk(path):
        os.lchown(directory, -1, group)
        os.chmod(directory, os.stat(directory).st_mode | 0o2000 | file_bits | 0o110)
        for name in names:
            file_path = os.path.join(directory, name)
            os.lchown(file_path, -1, group)
            if not os.path.islink(file_path):
                os.chmod(file_path, os.stat(file_path).st_mode | file_bits)


def root_matches(path: pathlib.Path, group: int) -> bool:
    info = path.stat()
    return info.st_gid == group and bool(info.st_mode & 0o2000)


def write_files(directory: pathlib.Path, files: Files) -> None:
    """Replace ``directory`` with exactly ``files`` (relative path, content, mode)."""
    directory.mkdir(parents=True, exist_ok=True)
    for relative, content, mode in files:
        target = directory / relative
        if ".." in pathlib.PurePosixPath(relative).parts:
            raise VolumeNotReadyError("CreateContainerConfigError", f"invalid path {relative!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.chmod(mode)
    directory.chmod(0o755)


def select_items(
    data: dict[str, bytes], items: list[core_models.KeyToPath] | None, mode: int, *, what: str
) -> Files:
    if not items:
        return [(key, value, mode) for key, value in sorted(data.items())]
    files: Files = []
    for item in items:
        if item.key not in data:
            raise VolumeNotReadyError(
                "CreateContainerConfigError", f"{what}: key {item.key} not found"
            )
        files.append((item.path, data[item.key], item.mode if item.mode is not None else mode))
    return files


class VolumePreparer:
    """Builds the host side of one pod's volumes."""

    def __init__(self, ctx: context.Context, pod: core_v1.Pod) -> None:
        assert pod.metadata is not None and pod.spec is not None
        self.ctx = ctx
        self.pod = pod
        self.namespace = pod.metadata.namespace or ""
        self.directory = ctx.settings.layout.pod_dir(pod.metadata.uid or "") / "volumes"
        context_ = pod.spec.securityContext
        self.fs_group = context_.fsGroup if context_ else None
        self.change_policy = (context_.fsGroupChangePolicy if context_ else None) or "Always"

    async def prepare(self) -> dict[str, PreparedVolume]:
        assert self.pod.spec is not None
        prepared: dict[str, PreparedVolume] = {}
        for volume in self.pod.spec.volumes or []:
            result = await self.prepare_one(volume)
            fault_text = kube.annotations_of(self.pod).get(faults.pod_volume_fault_key(volume.name))
            if fault_text:
                result = dataclasses.replace(result, fault=faults.parse_volume_fault(fault_text))
            prepared[volume.name] = result
        return prepared

    async def prepare_one(self, volume: core_models.Volume) -> PreparedVolume:
        own = self.directory / volume.name
        if volume.persistentVolumeClaim is not None:
            return await self.claim(volume.persistentVolumeClaim)
        if volume.emptyDir is not None:
            own.mkdir(parents=True, exist_ok=True)
            own.chmod(0o777)
            self.own(own, writable=True)
            return PreparedVolume(own)
        if volume.hostPath is not None:
            return self.host_path(volume.hostPath)
        if volume.nfs is not None:
            return self.nfs(volume.nfs)
        files = await self.projected_files(volume)
        if files is None:
            raise VolumeNotReadyError(
                "CreateContainerConfigError", f"volume {volume.name}: unsupported volume type"
            )
        await kube.remove_tree(own)
        write_files(own, files)
        self.own(own, writable=False)
        return PreparedVolume(own, read_only=True)

    def own(self, path: pathlib.Path, *, writable: bool) -> None:
        if self.fs_group is None:
            return
        if self.change_policy == "OnRootMismatch" and root_matches(path, self.fs_group):
            return
        apply_fs_group(path, self.fs_group, writable=writable)

    async def claim(self, source: core_models.PersistentVolumeClaimVolumeSource) -> PreparedVolume:
        name = source.claimName
        claim = self.ctx.caches.claims.get(name, self.namespace)
        if claim is None:
            raise VolumeNotReadyError(
                "ContainerCreating", f'persistentvolumeclaim "{name}" not found'
            )
        assert claim.spec is not None and claim.status is not None
        volume = self.ctx.caches.volumes.get(claim.spec.volumeName or "")
        if claim.status.phase != "Bound" or volume is None:
            raise VolumeNotReadyError(
                "ContainerCreating", f'persistentvolumeclaim "{name}" is not bound'
            )
        fault = faults.parse_volume_fault(kube.annotations_of(claim).get(faults.VOLUME_FAULT))
        if volume.spec is not None and volume.spec.nfs is not None:
            export = self.nfs(volume.spec.nfs)
            read_only = export.read_only or bool(source.readOnly)
            return PreparedVolume(export.source, read_only=read_only, fault=fault)
        path = provisioner.volume_path(volume)
        if path is None or not path.is_dir():
            message = f"volume {kube.name_of(volume)} has no local directory"
            raise VolumeNotReadyError("ContainerCreating", message)
        self.own(path, writable=not source.readOnly)
        return PreparedVolume(path, read_only=bool(source.readOnly), fault=fault)

    def host_path(self, source: core_models.HostPathVolumeSource) -> PreparedVolume:
        path = pathlib.Path(source.path)
        if source.type == "DirectoryOrCreate":
            path.mkdir(parents=True, exist_ok=True)
        elif source.type == "FileOrCreate" and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        if not path.exists():
            raise VolumeNotReadyError("ContainerCreating", f"hostPath {path} does not exist")
        return PreparedVolume(path)

    def nfs(self, source: core_models.NFSVolumeSource) -> PreparedVolume:
        try:
            path = self.ctx.settings.layout.nfs_export(source.server, source.path)
        except ValueError as error:
            raise VolumeNotReadyError("ContainerCreating", str(error)) from error
        if not path.exists():
            path.mkdir(parents=True)
            path.chmod(0o777)
        return PreparedVolume(path, read_only=bool(source.readOnly))

    async def projected_files(self, volume: core_models.Volume) -> Files | None:
        if volume.secret is not None:
            secret = volume.secret
            data = await self.secret_data(secret.secretName or "", optional=bool(secret.optional))
            mode = secret.defaultMode if secret.defaultMode is not None else 0o644
            return select_items(data, secret.items, mode, what=f"secret {secret.secretName}")
        if volume.configMap is not None:
            config = volume.configMap
            data = await self.config_map_data(config.name or "", optional=bool(config.optional))
            mode = config.defaultMode if config.defaultMode is not None else 0o644
            return select_items(data, config.items, mode, what=f"configmap {config.name}")
        if volume.downwardAPI is not None:
            mode = (
                volume.downwardAPI.defaultMode
                if volume.downwardAPI.defaultMode is not None
                else 0o644
            )
            return self.downward_files(volume.downwardAPI.items or [], mode)
        if volume.projected is not None:
            return await self.projection_files(volume.projected)
        return None

    def downward_files(self, items: list[core_models.DownwardAPIVolumeFile], mode: int) -> Files:
        files: Files = []
        for item in items:
            try:
                if item.fieldRef is not None:
                    value = envs.field_value(self.pod, item.fieldRef.fieldPath)
                else:
                    value = "0"
            except envs.ContainerConfigError as error:
                raise VolumeNotReadyError("CreateContainerConfigError", str(error)) from error
            files.append((item.path, value.encode(), item.mode if item.mode is not None else mode))
        return files

    async def projection_files(self, projected: core_models.ProjectedVolumeSource) -> Files:
        mode = projected.defaultMode if projected.defaultMode is not None else 0o644
        files: Files = []
        for source in projected.sources or []:
            if source.secret is not None:
                data = await self.secret_data(
                    source.secret.name or "", optional=bool(source.secret.optional)
                )
                files += select_items(
                    data, source.secret.items, mode, what=f"secret {source.secret.name}"
                )
            elif source.configMap is not None:
                config = source.configMap
                data = await self.config_map_data(config.name or "", optional=bool(config.optional))
                files += select_items(data, config.items, mode, what=f"configmap {config.name}")
            elif source.downwardAPI is not None:
                files += self.downward_files(source.downwardAPI.items or [], mode)
            elif source.serviceAccountToken is not None:
                token = await self.token(source.serviceAccountToken)
                files.append((source.serviceAccountToken.path, token.encode(), mode))
        return files

    async def secret_data(self, name: str, *, optional: bool) -> dict[str, bytes]:
        secret = await kube.get_or_none(
            self.ctx.client, core_v1.Secret, name, namespace=self.namespace
        )
        if secret is None:
            if optional:
                return {}
            raise VolumeNotReadyError("ContainerCreating", f'secret "{name}" not found')
        return {key: base64.b64decode(value) for key, value in (secret.data or {}).items()}

    async def config_map_data(self, name: str, *, optional: bool) -> dict[str, bytes]:
        config = await kube.get_or_none(
            self.ctx.client, core_v1.ConfigMap, name, namespace=self.namespace
        )
        if config is None:
            if optional:
                return {}
            raise VolumeNotReadyError("ContainerCreating", f'configmap "{name}" not found')
        data = {key: value.encode() for key, value in (config.data or {}).items()}
        data.update(
            {key: base64.b64decode(value) for key, value in (config.binaryData or {}).items()}
        )
        return data

    async def token(self, projection: core_models.ServiceAccountTokenProjection) -> str:
        assert self.pod.metadata is not None and self.pod.spec is not None
        account = self.pod.spec.serviceAccountName or "default"
        request = core_v1.ServiceAccountToken(
            metadata=meta_v1.ObjectMeta(name=account, namespace=self.namespace),
            spec=authentication_v1.TokenRequestSpec(
                audiences=[projection.audience] if projection.audience else [],
                expirationSeconds=projection.expirationSeconds or 3600,
                boundObjectRef=authentication_v1.BoundObjectReference(
                    apiVersion="v1",
                    kind="Pod",
                    name=self.pod.metadata.name,
                    uid=self.pod.metadata.uid,
                ),
            ),
        )
        response = await self.ctx.client.create(request, name=account, namespace=self.namespace)
        assert response.status is not None
        return str(response.status.token)
