"""Talking to the Docker engine: connection, images, container options, and one container's life.

Shared by `docker.Run`/`Stop` and the scripts' Docker task runner so that they all fail the same
clear way (engine down, image missing, port taken) and all stop what they started when a task is
killed or times out. The `docker` SDK is imported inside functions: a flow without containers
never pays for it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from lanner.model.property import Bool, is_template
from lanner.plugins.api import RunContext, TaskFailure
from lanner.plugins.properties import render_bool, render_list, render_str
from lanner.plugins.scripts.support import (
    LineBuffer,
    StringList,
    replay,
)

PULL_POLICIES = ("IF_NOT_PRESENT", "ALWAYS", "NEVER")
IMPORT_HINT = ("no registry is needed if you import it: `docker load -i image.tar`, or `docker import rootfs.tar NAME` "
               "(`bash .ci/docker-setup.sh` builds `redis` and `lanner-busybox` this way)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Cpu(_Strict):
    cpus: float | str | None = None


class Memory(_Strict):
    memory: str | int | None = None
    memorySwap: str | int | None = None
    memorySwappiness: str | int | None = None
    memoryReservation: str | int | None = None
    kernelMemory: str | int | None = None
    oomKillDisable: bool | None = None


class Credentials(_Strict):
    registry: str | None = None
    username: str | None = None
    password: str | None = None
    registryToken: str | None = None
    identityToken: str | None = None
    auth: str | None = None


class DeviceRequest(_Strict):
    driver: str | None = None
    count: int | None = None
    deviceIds: list[str] | None = None
    capabilities: list[list[str]] | None = None
    options: dict[str, str] | None = None


class ContainerOptions(_Strict):
    """The container settings Kestra's Docker task runner and `docker.Run` share (same property names)."""

    host: str | None = None
    config: str | dict[str, Any] | None = None
    credentials: Credentials | None = None
    user: str | None = None
    entryPoint: StringList | None = None
    extraHosts: list[str] | str | None = None
    networkMode: str | None = None
    volumes: list[str] | str | None = None
    # Kestra's runner pulls ALWAYS by default; with no registry, never pull what is here
    pullPolicy: str = "IF_NOT_PRESENT"
    deviceRequests: list[DeviceRequest] | None = None
    cpu: Cpu | None = None
    memory: Memory | None = None
    shmSize: str | int | None = None
    privileged: Bool | None = None

    @field_validator("pullPolicy")
    @classmethod
    def _policy(cls, v: str) -> str:
        if not is_template(v) and v not in PULL_POLICIES:
            raise ValueError(f"must be one of {', '.join(PULL_POLICIES)}")
        return v


def parse_bytes(value: str | int, name: str) -> int:
    """`512Mb`, `1g`, `64MB`, `1024` → bytes (1024-based units, as Kestra's converter)."""
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", str(value), re.IGNORECASE)
    if not m:
        raise TaskFailure(f"`{name}` is not a size: `{value}` (write e.g. 512MB or 1GB)")
    return int(float(m.group(1)) * 1024 ** " kmgt".index(m.group(2).lower() or " "))


def parse_ports(bindings: list[str]) -> dict[str, Any]:
    """`[ip:]hostPort:containerPort[/proto]` or `containerPort` → the SDK's `ports` mapping."""
    ports: dict[str, Any] = {}
    for spec in bindings:
        body, _, proto = spec.partition("/")
        parts = body.rsplit(":", 2)
        if not all(p.isdigit() for p in parts[-2:] if p) or not parts[-1].isdigit():
            raise TaskFailure(f"invalid port binding `{spec}`: "
                              "write HOST_PORT:CONTAINER_PORT or IP:HOST_PORT:CONTAINER_PORT")
        key = f"{parts[-1]}/{proto or 'tcp'}"
        if len(parts) == 1:
            target: Any = None  # any free host port
        elif len(parts) == 2:
            target = int(parts[0]) if parts[0] else None
        else:
            target = (parts[0].strip("[]"), int(parts[1]) if parts[1] else None)
        ports.setdefault(key, []).append(target)
    return {k: v[0] if len(v) == 1 else v for k, v in ports.items()}


def connect(host: str | None) -> Any:
    """A connected client, or one sentence saying how to get an engine."""
    import docker

    where = host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = docker.DockerClient(base_url=host) if host else docker.from_env()
        client.ping()
        return client
    except docker.errors.DockerException as exc:
        raise TaskFailure(f"Cannot reach the Docker engine at {where} ({_root_cause(exc)[:160]}): start it "
                          "(`bash .ci/docker-setup.sh`, or `dockerd --iptables=false &` as root) or set "
                          "DOCKER_HOST (or the task's `host`) to a running engine") from None


def _root_cause(exc: BaseException) -> str:
    """The innermost OS error (`Connection refused`, `No such file or directory`) rather than the
    SDK's and urllib3's nested reprs, which bury it in brackets."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause = cause.__cause__ or cause.__context__
    return str(exc)


def explain(exc: Exception) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return str(text.decode() if isinstance(text, bytes) else text).strip()


def registry_auth(ctx: RunContext, image: str, credentials: Credentials | None, config: Any) -> dict[str, str] | None:
    """Pull credentials from `credentials`, else from a docker `config` (`auths`) for the image's registry."""
    first = image.split("/", 1)[0]
    registry = first if "/" in image and ("." in first or ":" in first or first == "localhost") else "docker.io"
    if credentials is not None:
        auth = {k: str(ctx.render(v)) for k, v in {
            "username": credentials.username, "password": credentials.password, "auth": credentials.auth,
            "registrytoken": credentials.registryToken, "identitytoken": credentials.identityToken,
            "serveraddress": credentials.registry}.items() if v}
        return auth or None
    if config is not None:
        data = ctx.render(config) if isinstance(config, (str, dict)) else config
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError:
                raise TaskFailure("`config` is not a docker config.json document") from None
        for name, entry in (data.get("auths") or {}).items() if isinstance(data, dict) else []:
            if registry in name and isinstance(entry, dict) and entry.get("auth"):
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
                return {"username": user, "password": password, "serveraddress": name}
    return None


def ensure_image(ctx: RunContext, client: Any, image: str, policy: str, auth: dict[str, str] | None) -> None:
    """Apply the pull policy; a missing image that cannot be pulled is one clear sentence."""
    import docker

    policy = str(ctx.render(policy)).upper()
    if policy not in PULL_POLICIES:
        raise TaskFailure(f"`pullPolicy` must be one of {', '.join(PULL_POLICIES)}, got `{policy}`")
    try:
        client.images.get(image)
        present = True
    except docker.errors.ImageNotFound:
        present = False
    if policy == "NEVER" or (present and policy == "IF_NOT_PRESENT"):
        if not present:
            raise TaskFailure(f"Image `{image}` is not on this Docker engine and `pullPolicy` is NEVER; {IMPORT_HINT}")
        return
    repo, tag = _split_tag(image)
    ctx.logger.debug(f"Pulling image {repo}:{tag} (pullPolicy {policy})")
    try:
        client.images.pull(repo, tag=tag, auth_config=auth)
    except docker.errors.APIError as exc:
        if present:
            raise TaskFailure(f"Could not pull `{image}` ({explain(exc)[:200]}); a local copy exists: set "
                              "`pullPolicy: IF_NOT_PRESENT` to use it") from None
        raise TaskFailure(f"Image `{image}` is not on this Docker engine and could not be pulled "
                          f"({explain(exc)[:200]}); {IMPORT_HINT}") from None


def _split_tag(image: str) -> tuple[str, str]:
    if "@" in image:
        return image.split("@", 1)[0], image.split("@", 1)[1]
    name, sep, tag = image.rpartition(":")
    if sep and "/" not in tag:
        return name, tag
    return image, "latest"


def container_options(ctx: RunContext, o: ContainerOptions) -> dict[str, Any]:
    """Render the shared options into keyword arguments of the SDK's `containers.create`."""
    import docker

    kw: dict[str, Any] = {}
    if o.user is not None:
        kw["user"] = render_str(ctx, o.user)
    if o.entryPoint is not None:
        kw["entrypoint"] = render_list(ctx, o.entryPoint, "entryPoint") or None
    if o.extraHosts is not None:
        kw["extra_hosts"] = render_list(ctx, o.extraHosts, "extraHosts")
    if o.networkMode is not None:
        kw["network_mode"] = render_str(ctx, o.networkMode)
    if o.volumes is not None:
        kw["volumes"] = render_list(ctx, o.volumes, "volumes")
    if o.privileged is not None:
        kw["privileged"] = render_bool(ctx, o.privileged, "privileged")
    if o.shmSize is not None:
        kw["shm_size"] = parse_bytes(render_str(ctx, o.shmSize) or "", "shmSize")
    if o.cpu is not None and o.cpu.cpus is not None:
        kw["nano_cpus"] = int(float(render_str(ctx, o.cpu.cpus) or 0) * 1e9)
    if o.memory is not None:
        m = o.memory
        for field, arg in (("memory", "mem_limit"), ("memorySwap", "memswap_limit"),
                           ("memoryReservation", "mem_reservation"), ("kernelMemory", "kernel_memory")):
            value = getattr(m, field)
            if value is not None:
                kw[arg] = parse_bytes(render_str(ctx, value) or "", f"memory.{field}")
        if m.memorySwappiness is not None:
            kw["mem_swappiness"] = int(render_str(ctx, m.memorySwappiness) or 0)
        if m.oomKillDisable is not None:
            kw["oom_kill_disable"] = m.oomKillDisable
    if o.deviceRequests:
        kw["device_requests"] = [docker.types.DeviceRequest(
            driver=d.driver or "", count=d.count if d.count is not None else 0, device_ids=d.deviceIds,
            capabilities=d.capabilities, options=d.options) for d in o.deviceRequests]
    kw["labels"] = labels(ctx)
    return kw


def labels(ctx: RunContext) -> dict[str, str]:
    """Whose container this is: `lanner.worker.leftovers` finds a task run's containers by them."""
    import socket

    return {"lanner.execution": ctx.execution_id, "lanner.taskrun": ctx.task_run_id,
            "lanner.attempt": str(getattr(ctx, "attempt", 1)), "lanner.task": str(getattr(ctx, "task_id", "")),
            "lanner.host": socket.gethostname()}


def run_container(ctx: RunContext, client: Any, image: str, create: Mapping[str, Any], *, wait: bool,
                  delete: bool, on_line: Callable[[str, bool], None],
                  before_start: bytes | None = None, host: str | None = None) -> tuple[str, int | None]:
    """Create and start a container; when `wait`, stream its logs line by line until it exits.

    Returns (container id, exit code — None when not waiting). A kill or timeout (`ctx.cancelled`)
    kills the container it started, even one being started without `wait`; a waited container is
    removed afterwards when `delete`. A failure after the start carries `taskRunner.containerId`
    in its outputs, so a killed or timed-out task still says which container it ran.
    `before_start` is a tar copied into the container at `/` before it starts. The container is
    recorded with the attempt (engine `host`) from its creation until it is removed, or, when not
    waited for, until the task returns it: a later attempt removes one a crashed attempt left.
    """
    import docker

    adopted = getattr(ctx, "adopted", None)  # a cut-off attempt's container had exited: its record is used
    if adopted is not None and adopted.container_id:
        replay(adopted.stdout, adopted.stderr, on_line)
        return adopted.container_id, adopted.exit_code
    if ctx.cancelled.is_set():
        raise TaskFailure("cancelled before the container was created")
    try:
        container = client.containers.create(image, detach=True, **create)
    except docker.errors.APIError as exc:
        raise TaskFailure(f"Cannot create a container from `{image}`: {explain(exc)}") from None
    created = getattr(ctx, "container_created", None)  # only the worker's context records attempts
    forget = created(container.id, host) if created is not None else _nothing
    try:
        if before_start is not None:
            container.put_archive("/", before_start)
        container.start()
    except docker.errors.APIError as exc:
        _remove(container)
        forget()
        message = explain(exc)
        if "already allocated" in message or "address already in use" in message:
            message += ("; another process holds that host port: pick a free one in `portBindings`, "
                        "e.g. \"127.0.0.1:16379:6379\"")
        raise TaskFailure(f"Cannot start the container from `{image}`: {message}") from None
    ctx.logger.debug(f"Started container {container.short_id} from {image}")
    started = {"taskRunner": {"containerId": container.id}}  # kept on failure: `errors`/`finally` may need it
    if ctx.cancelled.is_set():
        # Killed while the engine was starting it: a killed task leaves no container behind, waited or not.
        _kill(container)
        _remove(container)
        forget()
        raise TaskFailure("cancelled while starting; the container was removed", started)
    if not wait:
        forget()  # started to outlive the task (a service for later tasks): it is the flow's now
        return container.id, None
    readers = [threading.Thread(target=_follow, args=(container, stderr, on_line), daemon=True,
                                name=f"lanner-docker-logs-{container.short_id}") for stderr in (False, True)]
    for r in readers:
        r.start()
    result: dict[str, Any] = {}
    done = threading.Event()

    def waiter() -> None:
        try:
            result.update(container.wait())
        except Exception as exc:  # noqa: BLE001 - reported below
            result["error"] = exc
        done.set()

    threading.Thread(target=waiter, daemon=True).start()
    try:
        while not done.wait(0.1):
            if ctx.cancelled.is_set():
                ctx.logger.warn(f"Stopping container {container.short_id}: the task was cancelled")
                _kill(container)
                raise TaskFailure("cancelled; the container was killed", started)
        for r in readers:
            r.join(timeout=5)
        if "error" in result:
            raise TaskFailure(f"Lost track of container {container.short_id}: {explain(result['error'])}", started)
        return container.id, int(result.get("StatusCode", -1))
    finally:
        _kill(container)
        if delete:
            _remove(container)
        forget()  # killed, and removed unless `delete: false` asked to keep it stopped


def _nothing() -> None:
    """Nothing was recorded (a context without attempt records), so there is nothing to forget."""


def _follow(container: Any, stderr: bool, on_line: Callable[[str, bool], None]) -> None:
    buffer = LineBuffer()
    try:
        for chunk in container.logs(stdout=not stderr, stderr=stderr, stream=True, follow=True):
            for line in buffer.feed(chunk):
                on_line(line, stderr)
    except Exception:  # noqa: BLE001 - the container went away; what was read is kept
        pass
    for line in buffer.flush():
        on_line(line, stderr)


def _kill(container: Any) -> None:
    try:
        container.reload()
        if container.status in ("running", "restarting", "paused"):
            container.kill()
    except Exception:  # noqa: BLE001 - already gone
        pass


def _remove(container: Any) -> None:
    try:
        container.remove(force=True)
    except Exception:  # noqa: BLE001 - already gone or being removed
        pass

