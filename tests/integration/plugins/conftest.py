"""Fixtures for plugin tests against real services: a private LANNER_HOME, and the Docker engine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BUSYBOX = "lanner-busybox:latest"
REDIS = "redis:latest"


@pytest.fixture(autouse=True)
def lanner_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("LANNER_HOME", str(home))
    monkeypatch.delenv("LANNER_DATABASE_URL", raising=False)
    return home


def _unavailable(reason: str) -> None:
    if os.environ.get("LANNER_REQUIRE_SERVICES") == "1":
        pytest.fail(f"LANNER_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def resolves(name: str) -> bool:
    """Whether this machine resolves `name` (host.docker.internal does on Docker Desktop, not on Linux)."""
    import socket

    try:
        socket.getaddrinfo(name, None)
        return True
    except socket.gaierror:
        return False


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Any]:
    """A client of the real engine, with the test images; skips (or fails when required) otherwise."""
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means no engine
        _unavailable(f"no Docker engine reachable ({type(exc).__name__}); run `bash .ci/docker-setup.sh`")
        return
    for image in (BUSYBOX, REDIS):
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            _unavailable(f"image {image} is missing; run `bash .ci/docker-setup.sh`")
    yield client
    client.close()


class Containers:
    """Finds the containers a test's executions started (by Lanner's labels) and removes them afterwards."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.executions: list[str] = []

    def of(self, execution_id: str, all: bool = True) -> list[Any]:
        if execution_id not in self.executions:
            self.executions.append(execution_id)
        return self.client.containers.list(all=all, filters={"label": f"lanner.execution={execution_id}"})

    def cleanup(self) -> None:
        for execution_id in self.executions:
            for c in self.of(execution_id):
                try:
                    c.remove(force=True)
                except Exception:  # noqa: BLE001 - already gone
                    pass


@pytest.fixture
def containers(docker_engine: Any) -> Iterator[Containers]:
    tracker = Containers(docker_engine)
    yield tracker
    tracker.cleanup()
