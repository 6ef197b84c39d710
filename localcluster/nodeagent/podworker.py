"""One pod on the local node, from start to finish, as a kubelet runs it.

A ``PodWorker`` waits for the pod's volumes, runs init containers in order, then the containers
together, restarts them per ``restartPolicy``, enforces ``activeDeadlineSeconds``, and writes the
pod's status (phase, conditions, container states, exit codes, termination messages). Each
container is a process group started by ``launch.py`` in its own mount namespace.

On restart the agent finds pods it was running: their processes are gone (it kills strays it
recorded), so running containers are reported terminated with reason ContainerStatusUnknown
and the pod fails (restartPolicy Never) or starts again (otherwise).
"""

from __future__ import annotations

import asyncio
import base64
import collections.abc
import contextlib
import datetime
import json
import logging
import os
import pathlib
import shutil
import signal
import sys
from typing import Any

import httpx2
import lightkube
from lightkube.resources import core_v1
from lightkube.types import PatchType

from localcluster.nodeagent import context, envs, images, kube, podstatus, volumes

LOG = logging.getLogger(__name__)
LAUNCHER = pathlib.Path(__file__).with_name("launch.py")
DEFAULT_TERMINATION_PATH = "/dev/termination-log"
MAX_MESSAGE_BYTES = 4096
FALLBACK_LOG_LINES = 80
FALLBACK_LOG_BYTES = 2048
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
NODE_ALLOCATABLE = {"cpu": str(os.cpu_count() or 1), "memory": str(8 * 2**30), "storage": "0"}


def process_start_time(pid: int) -> str | None:
    """The start time field of /proc/<pid>/stat, to recognise our own process after a restart."""
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()[19]


def kill_recorded_processes(pod_directory: pathlib.Path) -> None:
    """Kill container process groups an earlier agent recorded, if they are still the same."""
    for pid_file in pod_directory.glob("containers/*/pid"):
        with contextlib.suppress(ValueError, OSError):
            pid_text, start = pid_file.read_text().split()
            pid = int(pid_text)
            if process_start_time(pid) == start:
                os.killpg(pid, signal.SIGKILL)


class PodWorker:
    """Runs one pod from start to finish."""

    def __init__(self, ctx: context.Context, pod: core_v1.Pod) -> None:
        assert pod.metadata is not None and pod.spec is not None
        self.ctx = ctx
        self.pod = pod
        self.uid = pod.metadata.uid or ""
        self.namespace = pod.metadata.namespace or ""
        self.name = pod.metadata.name or ""
        self.directory = ctx.settings.layout.pod_dir(self.uid)
        self.restart_policy = pod.spec.restartPolicy or "Always"
        self.init_states = [
            podstatus.ContainerState(
                c.name, c.image or "", init=True, sidecar=c.restartPolicy == "Always"
            )
            for c in pod.spec.initContainers or []
        ]
        self.states = [
            podstatus.ContainerState(c.name, c.image or "", init=False) for c in pod.spec.containers
        ]
        self.phase = "Pending"
        self.reason: str | None = None
        self.message: str | None = None
        start = pod.status.startTime if pod.status else None
        self.start_time = (
            podstatus.rfc3339(start) if isinstance(start, datetime.datetime) else start
        )
        self.sandbox_ready = False
        self.initialized = not self.init_states
        self.stopping = asyncio.Event()
        self.changed = asyncio.Event()
        self.finished = False
        self.unpublished = False
        """The last status write failed (API server down): the kubelet's next pass retries it."""
        self.task: asyncio.Task[None] | None = None
        self._publish_lock = asyncio.Lock()
        self._background: set[asyncio.Task[Any]] = set()
        self._volumes: dict[str, volumes.PreparedVolume] = {}

    # ----------------------------------------------------------------- lifecycle

    def update(self, pod: core_v1.Pod) -> None:
        self.pod = pod
        self.changed.set()

    def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name=f"pod:{self.namespace}/{self.name}")

    async def run(self) -> None:
        try:
            await self.run_pod()
        except asyncio.CancelledError:
            raise
        except Exception:
            LOG.exception("pod %s/%s crashed in the agent", self.namespace, self.name)
            self.stopping.set()
            self.signal_all(signal.SIGKILL)
            await self.finish("Failed", reason="NodeAgentError", message="the node agent failed")
        finally:
            self.finished = True

    async def run_pod(self) -> None:
        if self.start_time is None:
            self.start_time = podstatus.timestamp()
        if self.adopt():
            return
        await self.publish()
        if not await self.prepare_volumes():
            return
        self.sandbox_ready = True
        deadline = asyncio.create_task(self.enforce_deadline())
        try:
            if await self.run_init_containers():
                self.initialized = True
                await self.run_containers()
        finally:
            if self.reason == "DeadlineExceeded":
                await deadline
            else:
                deadline.cancel()
            await self.stop_sidecars()
        if self.phase not in {"Succeeded", "Failed"}:
            await self.conclude()

    def adopt(self) -> bool:
        """Handle a pod an earlier agent started: its processes are gone. True if it is over."""
        status = self.pod.status
        previous = (
            [*(status.initContainerStatuses or []), *(status.containerStatuses or [])]
            if status
            else []
        )
        if not any(s.state and (s.state.running or s.state.terminated) for s in previous):
            return False
        kill_recorded_processes(self.directory)
        by_name = {state.name: state for state in [*self.init_states, *self.states]}
        for old in previous:
            state = by_name.get(old.name)
            if state is not None:
                state.restart_count = old.restartCount
        if self.restart_policy != "Never":
            for state in by_name.values():
                state.restart_count += 1
            return False
        self.report_lost(previous, by_name)
        return True

    def report_lost(
        self, previous: list[Any], by_name: dict[str, podstatus.ContainerState]
    ) -> None:
        """restartPolicy Never: containers that were running are lost, so the pod failed."""
        for old in previous:
            state = by_name.get(old.name)
            if state is None or old.state is None:
                continue
            if old.state.terminated is not None:
                state.state = {"terminated": old.state.terminated.to_dict()}
            else:
                running = old.state.running
                started = running.startedAt if running is not None else None
                state.state = podstatus.lost_container(
                    podstatus.rfc3339(started)
                    if isinstance(started, datetime.datetime)
                    else podstatus.timestamp()
                )
        self.sandbox_ready = True
        self.initialized = all(s.exit_code == 0 for s in self.init_states)
        self.phase = "Failed"
        self.in_background(self.publish())

    async def prepare_volumes(self) -> bool:
        while not self.stopping.is_set():
            try:
                self._volumes = await volumes.VolumePreparer(self.ctx, self.pod).prepare()
                return True
            except volumes.VolumeNotReadyError as waiting:
                self.set_waiting(self.init_states or self.states, waiting.reason, waiting.message)
                await self.publish()
            except envs.ContainerConfigError as error:
                self.set_waiting(self.states, "CreateContainerConfigError", str(error))
                await self.publish()
            await self.wait_for_change(2.0)
        return False

    def set_waiting(
        self, states: list[podstatus.ContainerState], reason: str, message: str
    ) -> None:
        for state in states:
            state.state = {"waiting": {"reason": reason, "message": message}}

    async def wait_for_change(self, seconds: float) -> None:
        self.changed.clear()
        waiters = [
            asyncio.create_task(self.changed.wait()),
            asyncio.create_task(self.stopping.wait()),
        ]
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def sleep_unless_stopping(self, seconds: float) -> bool:
        """Sleep; False if the pod is stopping meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)
        return not self.stopping.is_set()

    # ------------------------------------------------------------------- running

    async def run_init_containers(self) -> bool:
        assert self.pod.spec is not None
        for spec, state in zip(self.pod.spec.initContainers or [], self.init_states, strict=True):
            if state.sidecar:
                self.in_background(self.keep_running(spec, state, policy="Always"))
                while not state.running and not self.stopping.is_set():
                    await asyncio.sleep(0.05)
                continue
            policy = "Never" if self.restart_policy == "Never" else "OnFailure"
            code = await self.keep_running(spec, state, policy=policy)
            if self.stopping.is_set():
                return False
            if code != 0:
                await self.finish("Failed")
                return False
            await self.publish()
        return True

    async def run_containers(self) -> None:
        assert self.pod.spec is not None
        pairs = zip(self.pod.spec.containers, self.states, strict=True)
        runs = [self.keep_running(spec, state, policy=self.restart_policy) for spec, state in pairs]
        await asyncio.gather(*runs)

    async def keep_running(
        self, spec: Any, state: podstatus.ContainerState, *, policy: str
    ) -> int | None:
        """Run a container, restarting it per ``policy``; return its last exit code."""
        backoff = BACKOFF_BASE_SECONDS
        while not self.stopping.is_set() and not state.stop_requested:
            code = await self.run_container(spec, state)
            if code is None:
                return None
            if self.stopping.is_set() or state.stop_requested:
                return code
            if policy == "Never" or (policy == "OnFailure" and code == 0):
                return code
            state.last_state = state.state
            message = (
                f"back-off {backoff:g}s restarting failed container={spec.name} pod={self.name}"
            )
            state.state = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
            await self.publish()
            if not await self.sleep_unless_stopping(backoff):
                state.state = state.last_state
                return code
            backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
            state.restart_count += 1
        return None

    async def run_container(self, spec: Any, state: podstatus.ContainerState) -> int | None:
        """Start one container and wait for it; None if the pod stopped before it ran."""
        plan = await self.plan_container(spec, state)
        if plan is None:
            return None
        files = self.directory / "containers" / spec.name
        log_path = self.ctx.settings.layout.log_file(self.namespace, self.name, spec.name)
        self.rotate_log(log_path, state)
        started_at = podstatus.timestamp()
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--",
                sys.executable,
                "-I",
                "-S",
                str(LAUNCHER),
                str(files / "plan.json"),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                env={"PATH": images.STANDARD_PATH},
            )
        state.process = process
        (files / "pid").write_text(f"{process.pid} {process_start_time(process.pid)}")
        state.state = {"running": {"startedAt": started_at}}
        if self.stopping.is_set():
            # The pod began stopping (a deadline, a deletion) while this process was being
            # started, after the stop signalled every process it could see: end it as well.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        elif not state.init and self.phase not in {"Succeeded", "Failed"}:
            self.phase = "Running"
        await self.publish()
        await self.ctx.event(self.pod, "Started", f"Started container {spec.name}")
        returncode = await process.wait()
        state.state = {"terminated": self.termination(spec, state, returncode, started_at, files)}
        await self.publish()
        return state.exit_code

    def rotate_log(self, log_path: pathlib.Path, state: podstatus.ContainerState) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        if state.restart_count > 0 and log_path.exists():
            previous = self.ctx.settings.layout.previous_log_file(
                self.namespace, self.name, state.name
            )
            shutil.copyfile(log_path, previous)
            log_path.write_bytes(b"")
        elif state.restart_count == 0:
            log_path.write_bytes(b"")

    def termination(
        self,
        spec: Any,
        state: podstatus.ContainerState,
        returncode: int,
        started_at: str,
        files: pathlib.Path,
    ) -> dict[str, Any]:
        code = 128 - returncode if returncode < 0 else returncode
        start_error = (files / "start-error").read_text(errors="replace").strip()
        message = (
            (files / "termination-log").read_bytes()[:MAX_MESSAGE_BYTES].decode(errors="replace")
        )
        reason = "Completed" if code == 0 else "Error"
        if start_error and code == 128:
            reason, message = "StartError", start_error
        elif not message and code != 0 and spec.terminationMessagePolicy == "FallbackToLogsOnError":
            message = self.log_tail(state.name)
        result: dict[str, Any] = {
            "exitCode": code,
            "reason": reason,
            "startedAt": started_at,
            "finishedAt": podstatus.timestamp(),
            "containerID": f"local://{state.process.pid if state.process else 0}",
        }
        if message:
            result["message"] = message
        if returncode < 0:
            result["signal"] = -returncode
        return result

    def log_tail(self, container: str) -> str:
        path = self.ctx.settings.layout.log_file(self.namespace, self.name, container)
        lines = path.read_bytes().splitlines()[-FALLBACK_LOG_LINES:]
        return b"\n".join(lines)[-FALLBACK_LOG_BYTES:].decode(errors="replace")

    # ------------------------------------------------------------------ planning

    async def plan_container(
        self, spec: Any, state: podstatus.ContainerState
    ) -> dict[str, Any] | None:
        """Work out everything the launcher needs, waiting while something is missing."""
        while not self.stopping.is_set():
            try:
                return await self.write_plan(spec)
            except images.ImageNotMappedError as error:
                reason, message, wait = "ErrImagePull", str(error), 10.0
            except (envs.ContainerConfigError, volumes.VolumeNotReadyError) as error:
                reason, message, wait = "CreateContainerConfigError", str(error), 2.0
            if state.state.get("waiting", {}).get("message") != message:
                await self.ctx.event(self.pod, "Failed", f"Error: {message}", warning=True)
            state.state = {"waiting": {"reason": reason, "message": message}}
            await self.publish()
            await self.wait_for_change(wait)
        return None

    async def write_plan(self, spec: Any) -> dict[str, Any]:
        settings = self.ctx.settings
        runtime = images.resolve(
            spec.image or "",
            list(spec.command or []),
            venv_bin=settings.venv_bin,
            tool_dirs=settings.tool_dirs,
        )
        uid, gid, groups = self.identity(spec)
        env = await self.environment(spec, runtime, uid=uid)
        argv = runtime.command_line(
            envs.command_line(spec, entrypoint=runtime.entrypoint, cmd=runtime.cmd, env=env)
        )
        if not argv:
            raise envs.ContainerConfigError("no command specified")
        files = self.directory / "containers" / spec.name
        files.mkdir(parents=True, exist_ok=True)
        termination = files / "termination-log"
        termination.write_bytes(b"")
        termination.chmod(0o666)
        (files / "start-error").write_bytes(b"")
        (files / "root").mkdir(exist_ok=True)
        plan = {
            "root": str(files / "root"),
            "tool_paths": list(settings.tool_paths),
            "volumes": [*self.mounts(spec, env), *_image_binds(runtime)],
            "termination_log": {
                "source": str(termination),
                "target": spec.terminationMessagePath or DEFAULT_TERMINATION_PATH,
            },
            "working_dir": spec.workingDir or "/",
            "uid": uid,
            "gid": gid,
            "groups": groups,
            "argv": argv,
            "env": env,
            "error_file": str(files / "start-error"),
            "parent_pid": os.getpid(),
        }
        plan_path = files / "plan.json"
        plan_path.write_text(json.dumps(plan))
        plan_path.chmod(0o600)
        return plan

    def identity(self, spec: Any) -> tuple[int, int, list[int]]:
        assert self.pod.spec is not None
        pod_context = self.pod.spec.securityContext
        own = spec.securityContext

        def pick(field: str) -> Any:
            value = getattr(own, field, None) if own is not None else None
            if value is None and pod_context is not None:
                value = getattr(pod_context, field, None)
            return value

        uid = int(pick("runAsUser") or 0)
        gid = int(pick("runAsGroup") or 0)
        if pick("runAsNonRoot") and uid == 0:
            raise envs.ContainerConfigError("container has runAsNonRoot and image will run as root")
        groups = list((pod_context.supplementalGroups if pod_context else None) or [])
        if pod_context is not None and pod_context.fsGroup is not None:
            groups.append(pod_context.fsGroup)
        return uid, gid, sorted(set(groups))

    async def environment(self, spec: Any, runtime: images.Runtime, *, uid: int) -> dict[str, str]:
        settings = self.ctx.settings
        base = {
            "PATH": runtime.path,
            "HOSTNAME": self.name,
            "HOME": "/root" if uid == 0 else "/",
            "KUBERNETES_SERVICE_HOST": settings.api_host,
            "KUBERNETES_SERVICE_PORT": settings.api_port,
            "KUBERNETES_SERVICE_PORT_HTTPS": settings.api_port,
            "KUBERNETES_PORT": f"tcp://{settings.api_host}:{settings.api_port}",
        }
        secret_names, config_names = envs.referenced_names([spec])
        secrets = {name: await self.fetch(core_v1.Secret, name) for name in secret_names}
        config_maps = {name: await self.fetch(core_v1.ConfigMap, name) for name in config_names}
        return envs.environment(
            self.pod,
            spec,
            secrets={k: v for k, v in secrets.items() if v is not None},
            config_maps={k: v for k, v in config_maps.items() if v is not None},
            base=base,
            node_allocatable=NODE_ALLOCATABLE,
        )

    async def fetch(self, resource: Any, name: str) -> dict[str, str] | None:
        item = await kube.get_or_none(self.ctx.client, resource, name, namespace=self.namespace)
        if item is None:
            return None
        if resource is core_v1.Secret:
            return {
                k: base64.b64decode(v).decode(errors="replace")
                for k, v in (item.data or {}).items()
            }
        return dict(item.data or {})

    def mounts(self, spec: Any, env: dict[str, str]) -> list[dict[str, Any]]:
        result = []
        for mount in spec.volumeMounts or []:
            prepared = self._volumes.get(mount.name)
            if prepared is None:
                raise envs.ContainerConfigError(f"volume mount {mount.name} has no volume")
            sub_path = mount.subPath or (
                envs.expand(mount.subPathExpr, env) if mount.subPathExpr else ""
            )
            source = prepared.source
            if sub_path:
                if ".." in pathlib.PurePosixPath(sub_path).parts or sub_path.startswith("/"):
                    raise envs.ContainerConfigError(f"invalid subPath {sub_path!r}")
                source = source / sub_path
                if not source.exists():
                    source.mkdir(parents=True, mode=0o755)
            result.append(
                {
                    "source": str(source),
                    "target": mount.mountPath,
                    "read_only": bool(mount.readOnly)
                    or prepared.read_only
                    or prepared.fault.read_only,
                    "full_bytes": prepared.fault.full_bytes,
                }
            )
        return result

    # ----------------------------------------------------------------- stopping

    async def enforce_deadline(self) -> None:
        assert self.pod.spec is not None
        seconds = self.pod.spec.activeDeadlineSeconds
        if not seconds or self.start_time is None:
            return
        started = datetime.datetime.strptime(self.start_time, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.UTC
        )
        remaining = seconds - (datetime.datetime.now(datetime.UTC) - started).total_seconds()
        await asyncio.sleep(max(0.0, remaining))
        message = "Pod was active on the node longer than the specified deadline"
        self.reason, self.message = "DeadlineExceeded", message
        await self.stop(self.grace_period())
        await self.finish("Failed", reason="DeadlineExceeded", message=message)

    def grace_period(self) -> float:
        assert self.pod.spec is not None
        value = self.pod.spec.terminationGracePeriodSeconds
        return 30.0 if value is None else float(value)

    async def stop(self, grace: float, *, announce: bool = True) -> None:
        """SIGTERM every container, SIGKILL whatever is left after ``grace`` seconds."""
        self.stopping.set()
        for state in [*self.init_states, *self.states]:
            if state.running and announce:
                await self.ctx.event(self.pod, "Killing", f"Stopping container {state.name}")
        self.signal_all(signal.SIGTERM)
        deadline = asyncio.get_running_loop().time() + grace
        while self.live_processes() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        self.signal_all(signal.SIGKILL)
        for process in self.live_processes():
            with contextlib.suppress(ProcessLookupError):
                await process.wait()

    async def stop_sidecars(self) -> None:
        """Sidecars (init containers with restartPolicy Always) end after the main containers."""
        sidecars = [state for state in self.init_states if state.sidecar]
        for state in sidecars:
            state.stop_requested = True
            if state.process is not None and state.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(state.process.pid, signal.SIGTERM)
        for state in sidecars:
            if state.process is not None:
                try:
                    await asyncio.wait_for(state.process.wait(), self.grace_period())
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(state.process.pid, signal.SIGKILL)

    def live_processes(self) -> list[asyncio.subprocess.Process]:
        states = [*self.init_states, *self.states]
        return [s.process for s in states if s.process is not None and s.process.returncode is None]

    def signal_all(self, number: int) -> None:
        for process in self.live_processes():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, number)

    def kill_containers(self, names: set[str]) -> None:
        for state in [*self.init_states, *self.states]:
            process = state.process
            if state.name in names and process is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)

    # ------------------------------------------------------------------- status

    async def conclude(self) -> None:
        codes = [state.exit_code for state in self.states]
        if self.stopping.is_set() and any(code is None for code in codes):
            return
        await self.finish("Succeeded" if all(code == 0 for code in codes) else "Failed")

    async def finish(
        self, phase: str, *, reason: str | None = None, message: str | None = None
    ) -> None:
        if self.phase in {"Succeeded", "Failed"}:
            return
        self.phase = phase
        self.reason = reason or self.reason
        self.message = message or self.message
        for state in [*self.init_states, *self.states]:
            if state.running:
                state.state = podstatus.lost_container(state.state["running"].get("startedAt"))
        await self.publish()

    def status(self) -> dict[str, Any]:
        previous = (self.pod.status.conditions if self.pod.status else None) or []
        view = podstatus.PodView(
            phase=self.phase,
            sandbox_ready=self.sandbox_ready,
            initialized=self.initialized,
            init_states=self.init_states,
            states=self.states,
        )
        return podstatus.document(
            view,
            previous_conditions=previous,
            start_time=self.start_time,
            reason=self.reason,
            message=self.message,
        )

    def in_background(self, work: collections.abc.Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def publish(self) -> None:
        async with self._publish_lock:
            self.unpublished = False
            try:
                await self.ctx.client.patch(
                    core_v1.Pod.Status,
                    self.name,
                    {"status": self.status()},
                    namespace=self.namespace,
                    patch_type=PatchType.MERGE,
                )
            except lightkube.ApiError as error:
                if error.status.code == 404:
                    self.stopping.set()
                else:
                    self.unpublished = True
                    LOG.warning("status of %s/%s not written: %s", self.namespace, self.name, error)
            except httpx2.HTTPError as error:
                self.unpublished = True
                LOG.warning("status of %s/%s not written: %s", self.namespace, self.name, error)


def _image_binds(runtime: images.Runtime) -> list[dict[str, Any]]:
    """The image's own directories that stand for host ones (a distroless image's /busybox)."""
    return [
        {"source": source, "target": target, "read_only": True} for source, target in runtime.binds
    ]
