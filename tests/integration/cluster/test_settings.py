"""lanner.yaml, the environment and flags, in that order of precedence; mistakes are explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanner.errors import LannerError
from lanner.runtime import settings


def test_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANNER_HOME", str(tmp_path))
    monkeypatch.delenv("LANNER_DATABASE_URL", raising=False)
    monkeypatch.delenv("LANNER_CONFIG", raising=False)
    (tmp_path / "lanner.yaml").write_text("""
database: {url: "postgresql://lanner@db:5432/lanner"}
storage: {path: /mnt/shared}
worker: {threads: 4, group: gpu, heartbeat: PT2S, deadAfter: 30}
executor: {poll: 0.5}
""")
    s = settings.load()
    assert (s.database_url, s.threads, s.worker_group) == ("postgresql://lanner@db:5432/lanner", 4, "gpu")
    assert (s.heartbeat_seconds, s.dead_after_seconds, s.poll_seconds) == (2.0, 30.0, 0.5)
    assert s.storage_path == Path("/mnt/shared") and s.is_postgres
    monkeypatch.setenv("LANNER_DATABASE_URL", "sqlite:///other.db")
    assert settings.load(threads=8).database_url == "sqlite:///other.db"
    assert settings.load(threads=8).threads == 8


def test_defaults_are_the_embedded_sqlite_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANNER_HOME", str(tmp_path))
    monkeypatch.delenv("LANNER_DATABASE_URL", raising=False)
    monkeypatch.delenv("LANNER_CONFIG", raising=False)
    s = settings.load()
    assert s.database_url == f"sqlite:///{tmp_path / 'lanner.db'}" and s.source is None


@pytest.mark.parametrize("text, message", [
    ("worker: {heartbeat: soon}", "worker.heartbeat: `soon` is not a duration"),
    ("worker: {heartbeat: 5, deadAfter: 6}", "must be at least three heartbeats"),
    ("database: [1]", "`database` must be a map"),
    ("database: {url: mysql://x}", "neither sqlite:/// nor postgresql://"),
])
def test_mistakes_say_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str) -> None:
    monkeypatch.delenv("LANNER_DATABASE_URL", raising=False)
    path = tmp_path / "lanner.yaml"
    path.write_text(text)
    with pytest.raises(LannerError) as err:
        settings.load(path)
    assert message in err.value.render()
    with pytest.raises(LannerError, match="does not exist"):
        settings.load(tmp_path / "missing.yaml")
