"""``pyvolsync render-component``: the app component for clusters without Flux.

The component in ``deploy/components/volsync`` is written for Flux: kustomize includes it in an
app and Flux's post-build substitution fills ``${APP}`` and the other variables. Users without
Flux get the same objects from this command: it reads the component's resources, substitutes
with Flux's rules (``envsubst``), sets the namespace as kustomize's ``namespace:`` would, and
prints every document, ready for ``kubectl apply -f -``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from pyvolsync.cli import envsubst

COMPONENT_FILE = "kustomization.yaml"
# Flux leaves a resource alone when it carries this label or annotation with value "disabled".
SUBSTITUTE_SWITCH = "kustomize.toolkit.fluxcd.io/substitute"
# A wheel carries the component inside the package; a checkout has it under deploy/.
PACKAGED_COMPONENT = Path(__file__).resolve().parent / "component"
CHECKOUT_COMPONENT = Path(__file__).resolve().parents[3] / "deploy" / "components" / "volsync"
ENGINE_SUFFIX = {"restic": "", "kopia": "-kopia"}
"""The component of each engine: ``volsync`` (restic) and ``volsync-kopia``."""

JsonObject = dict[str, Any]


class ComponentError(ValueError):
    """The component cannot be rendered; the message says what to fix."""


def component_directory(engine: str = "restic") -> Path:
    """The directory of the installed (or checked-out) component of ``engine``."""
    if engine not in ENGINE_SUFFIX:
        raise ComponentError(f"--engine {engine!r}: expected one of {', '.join(ENGINE_SUFFIX)}")
    suffix = ENGINE_SUFFIX[engine]
    for base in (PACKAGED_COMPONENT, CHECKOUT_COMPONENT):
        candidate = base.with_name(base.name + suffix)
        if (candidate / COMPONENT_FILE).is_file():
            return candidate
    raise ComponentError(f"the {engine} component is not installed; give --component-dir")


def render(
    directory: Path, variables: Mapping[str, str], *, namespace: str | None = None
) -> list[JsonObject]:
    """Return the component's objects with ``variables`` substituted, in resource order."""
    try:
        kustomization = yaml.safe_load((directory / COMPONENT_FILE).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ComponentError(f"{directory / COMPONENT_FILE}: {error}") from None
    documents: list[JsonObject] = []
    for resource in kustomization.get("resources") or []:
        documents += _resource_documents(directory / resource, variables)
    if namespace:
        for document in documents:
            document.setdefault("metadata", {})["namespace"] = namespace
    return documents


def _resource_documents(path: Path, variables: Mapping[str, str]) -> list[JsonObject]:
    try:
        chunks = _split_documents(path.read_text())
    except OSError as error:
        raise ComponentError(f"{path}: {error}") from None
    documents: list[JsonObject] = []
    for chunk in chunks:
        try:
            document = yaml.safe_load(chunk)
            if not document:
                continue
            if not _substitution_disabled(document):
                document = yaml.safe_load(envsubst.substitute(chunk, variables))
        except (envsubst.SubstitutionError, yaml.YAMLError) as error:
            raise ComponentError(f"{path.name}: {error}") from None
        documents.append(document)
    return documents


def _split_documents(text: str) -> list[str]:
    chunks: list[list[str]] = [[]]
    for line in text.splitlines(keepends=True):
        if line.rstrip() == "---":
            chunks.append([])
        else:
            chunks[-1].append(line)
    return ["".join(chunk) for chunk in chunks]


def _substitution_disabled(document: Mapping[str, Any]) -> bool:
    metadata = document.get("metadata") or {}
    switches = {**(metadata.get("labels") or {}), **(metadata.get("annotations") or {})}
    return switches.get(SUBSTITUTE_SWITCH) == "disabled"


def parse_settings(app_name: str, settings: list[str]) -> dict[str, str]:
    """Turn ``--app`` and the ``--set VAR=VALUE`` options into the substitution variables."""
    variables: dict[str, str] = {}
    for setting in settings:
        name, separator, value = setting.partition("=")
        if not separator or not envsubst.NAME_EXACT.match(name):
            raise ComponentError(f"--set: {setting!r} is not VAR=VALUE (VAR: letters, digits, _)")
        variables[name] = value
    if variables.get("APP", app_name) != app_name:
        raise ComponentError("--set APP=... differs from --app; give the name once")
    if not app_name:
        raise ComponentError("--app: the app name must not be empty")
    variables["APP"] = app_name
    return variables


def render_component(
    *,
    app_name: Annotated[
        str, typer.Option("--app", help="The app's name: ${APP}, the default claim and repository.")
    ],
    settings: Annotated[
        list[str] | None,
        typer.Option("--set", help="A component variable, VAR=VALUE (repeatable)."),
    ] = None,
    namespace: Annotated[
        str | None, typer.Option(help="Namespace of the objects (as kustomize's namespace:).")
    ] = None,
    component_dir: Annotated[
        Path | None, typer.Option(help="Render this component instead of the installed one.")
    ] = None,
    engine: Annotated[
        str, typer.Option(help="The backup engine of the component: restic or kopia.")
    ] = "restic",
) -> None:
    """Render the VolSync app component with Flux's substitution rules, as YAML on stdout."""
    try:
        variables = parse_settings(app_name, settings or [])
        directory = component_dir or component_directory(engine)
        documents = render(directory, variables, namespace=namespace)
    except ComponentError as error:
        typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2) from None
    typer.echo(yaml.safe_dump_all(documents, sort_keys=False), nl=False)
