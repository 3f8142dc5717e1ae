"""How lanner.yaml is read: YAML 1.2 scalars, duplicate keys and bad syntax refused at their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanner.errors import LannerError
from lanner.runtime import settings


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("LANNER_DATABASE_URL", "LANNER_CONFIG", "LANNER_WORKER_HEARTBEAT", "LANNER_WORKER_DEAD_AFTER",
                 "LANNER_POLL", "LANNER_STOP_GRACE", "LANNER_MAX_TASK_RUNS", "LANNER_STORAGE_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANNER_HOME", str(tmp_path))


def load(tmp_path: Path, text: str) -> settings.ClusterSettings:
    path = tmp_path / "lanner.yaml"
    path.write_text(text, encoding="utf-8")
    return settings.load(path)


def test_yes_and_on_are_text_and_a_leading_zero_is_decimal(tmp_path: Path) -> None:
    s = load(tmp_path, "worker: {group: yes, threads: 010, heartbeat: 0o2, deadAfter: 1_0}\nexecutor: {poll: 0.5}\n")
    assert (s.worker_group, s.threads, s.heartbeat_seconds, s.dead_after_seconds) == ("yes", 10, 2.0, 10.0)
    assert s.poll_seconds == 0.5
    assert load(tmp_path, "worker: {group: on}\n").worker_group == "on"


def test_empty_file_and_null_sections_are_the_defaults(tmp_path: Path) -> None:
    assert load(tmp_path, "").threads == 16
    assert load(tmp_path, "worker: ~\nstorage:\n").threads == 16


def test_a_duplicate_key_is_refused_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(LannerError) as err:
        load(tmp_path, "worker:\n  threads: 4\n  threads: 8\n")
    text = err.value.render()
    assert "duplicate key `threads`" in text and "lanner.yaml:3:3: " in text


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(LannerError) as err:
        load(tmp_path, "worker:\n  threads: [4\n")
    text = err.value.render()
    assert "lanner.yaml:3:1: not valid YAML" in text
    assert "Traceback" not in text


def test_a_list_at_the_top_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LannerError, match="top level must be a map"):
        load(tmp_path, "- 1\n")
