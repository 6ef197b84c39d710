"""A container's environment and command line, computed the way the kubelet does.

Pure functions over the pod, the container and the Secrets/ConfigMaps already fetched, so the
rules (order of envFrom and env, ``$(VAR)`` expansion, optional references, the downward API)
are tested without a cluster.
"""

from __future__ import annotations

import collections.abc
import re

from lightkube.models import core_v1

from localcluster.nodeagent import quantity

Data = collections.abc.Mapping[str, collections.abc.Mapping[str, str]]
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
NODE_IP = "127.0.0.1"


class ContainerConfigError(Exception):
    """A referenced Secret, ConfigMap or key is missing: the container waits, as with a kubelet."""


def expand(text: str, variables: collections.abc.Mapping[str, str]) -> str:
    """Expand ``$(NAME)`` references; ``$$`` escapes; unknown references stay as written."""
    output: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "$" or index + 1 == len(text):
            output.append(char)
            index += 1
            continue
        following = text[index + 1]
        if following == "$":
            output.append("$")
            index += 2
        elif following == "(":
            closing = text.find(")", index + 2)
            if closing == -1:
                output.append("$(")
                index += 2
                continue
            name = text[index + 2 : closing]
            output.append(variables.get(name, f"$({name})"))
            index = closing + 1
        else:
            output.append("$" + following)
            index += 2
    return "".join(output)


def referenced_names(containers: list[core_v1.Container]) -> tuple[set[str], set[str]]:
    """Names of the Secrets and ConfigMaps the containers' env and envFrom read."""
    secrets: set[str] = set()
    config_maps: set[str] = set()
    for container in containers:
        for source in container.envFrom or []:
            if source.secretRef is not None and source.secretRef.name:
                secrets.add(source.secretRef.name)
            if source.configMapRef is not None and source.configMapRef.name:
                config_maps.add(source.configMapRef.name)
        for variable in container.env or []:
            origin = variable.valueFrom
            if origin is None:
                continue
            if origin.secretKeyRef is not None and origin.secretKeyRef.name:
                secrets.add(origin.secretKeyRef.name)
            if origin.configMapKeyRef is not None and origin.configMapKeyRef.name:
                config_maps.add(origin.configMapKeyRef.name)
    return secrets, config_maps


def field_value(pod: core_v1.Pod, path: str) -> str:
    """Resolve a downward-API ``fieldPath`` for this node."""
    metadata = pod.metadata
    assert metadata is not None and pod.spec is not None
    simple = {
        "metadata.name": metadata.name or "",
        "metadata.namespace": metadata.namespace or "",
        "metadata.uid": metadata.uid or "",
        "spec.nodeName": pod.spec.nodeName or "",
        "spec.serviceAccountName": pod.spec.serviceAccountName or "default",
        "status.hostIP": NODE_IP,
        "status.hostIPs": NODE_IP,
        "status.podIP": NODE_IP,
        "status.podIPs": NODE_IP,
    }
    if path in simple:
        return simple[path]
    match = re.fullmatch(r"metadata\.(labels|annotations)(?:\['(.*)'\])?", path)
    if match is None:
        raise ContainerConfigError(f"unsupported fieldPath {path!r}")
    mapping = (metadata.labels if match.group(1) == "labels" else metadata.annotations) or {}
    if match.group(2) is not None:
        return str(mapping.get(match.group(2), ""))
    return "\n".join(f'{key}="{value}"' for key, value in sorted(mapping.items()))


def resource_value(
    container: core_v1.Container,
    reference: core_v1.ResourceFieldSelector,
    *,
    node_allocatable: collections.abc.Mapping[str, str],
) -> str:
    """``resourceFieldRef``: the limit or request, or the node's allocatable when unset."""
    kind, _, resource = reference.resource.partition(".")
    resources = container.resources
    values = {}
    if resources is not None:
        values = (resources.limits if kind == "limits" else resources.requests) or {}
    raw = values.get(resource) or node_allocatable.get(resource.removeprefix("ephemeral-"), "0")
    divisor = reference.divisor or "1"
    return str(quantity.divide_ceiling(raw, str(divisor)))


def _lookup(
    data: Data, kind: str, name: str, key: str | None, *, optional: bool, namespace: str
) -> str | None:
    values = data.get(name)
    if values is None:
        if optional:
            return None
        raise ContainerConfigError(f'{kind} "{name}" not found')
    if key is None:
        return ""
    if key not in values:
        if optional:
            return None
        raise ContainerConfigError(f"couldn't find key {key} in {kind} {namespace}/{name}")
    return values[key]


def _from_sources(
    container: core_v1.Container, *, secrets: Data, config_maps: Data, namespace: str
) -> dict[str, str]:
    result: dict[str, str] = {}
    for source in container.envFrom or []:
        reference = source.secretRef or source.configMapRef
        if reference is None or not reference.name:
            continue
        data, kind = (secrets, "secret") if source.secretRef else (config_maps, "configmap")
        optional = bool(reference.optional)
        if (
            _lookup(data, kind, reference.name, None, optional=optional, namespace=namespace)
            is None
        ):
            continue
        for key, value in data[reference.name].items():
            name = (source.prefix or "") + key
            if _ENV_NAME.match(name):
                result[name] = value
    return result


def environment(
    pod: core_v1.Pod,
    container: core_v1.Container,
    *,
    secrets: Data,
    config_maps: Data,
    base: collections.abc.Mapping[str, str],
    node_allocatable: collections.abc.Mapping[str, str],
) -> dict[str, str]:
    """The container's final environment: ``base``, then envFrom, then env in order."""
    namespace = (pod.metadata.namespace if pod.metadata else None) or ""
    result = dict(base)
    result.update(
        _from_sources(container, secrets=secrets, config_maps=config_maps, namespace=namespace)
    )
    for variable in container.env or []:
        origin = variable.valueFrom
        if origin is None:
            result[variable.name] = expand(variable.value or "", result)
            continue
        value: str | None
        key_reference = origin.secretKeyRef or origin.configMapKeyRef
        if key_reference is not None:
            data, kind = (secrets, "secret") if origin.secretKeyRef else (config_maps, "configmap")
            value = _lookup(
                data,
                kind,
                key_reference.name or "",
                key_reference.key,
                optional=bool(key_reference.optional),
                namespace=namespace,
            )
        elif origin.fieldRef is not None:
            value = field_value(pod, origin.fieldRef.fieldPath)
        elif origin.resourceFieldRef is not None:
            value = resource_value(
                container, origin.resourceFieldRef, node_allocatable=node_allocatable
            )
        else:
            raise ContainerConfigError(f"env {variable.name}: unsupported valueFrom")
        if value is not None:
            result[variable.name] = value
    return result


def command_line(
    container: core_v1.Container,
    *,
    entrypoint: tuple[str, ...],
    cmd: tuple[str, ...],
    env: collections.abc.Mapping[str, str],
) -> list[str]:
    """command + args with ``$(VAR)`` expansion, falling back to the image's entrypoint and cmd."""
    if container.command:
        words = [*container.command, *(container.args or [])]
    else:
        words = [*entrypoint, *(container.args or cmd)]
    return [expand(word, env) for word in words]
