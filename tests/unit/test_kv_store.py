"""The KV store's files: TTLs against an injected clock, atomic last-writer-wins writes, key rules,
and the typing of values (declared or inferred) shared by the tasks and the API."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from lanner.errors import LannerError
from lanner.model import kv_values
from lanner.storage.kv import KVError, KVExpired, KVStore


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def test_a_key_expires_when_its_ttl_has_passed_and_is_then_left_out_of_listings(tmp_path: Path) -> None:
    clock = Clock()
    store = KVStore(tmp_path, clock=clock)
    store.put("ns", "k", "STRING", "v", ttl=dt.timedelta(minutes=5))
    assert store.get("ns", "k").value == "v"  # type: ignore[union-attr]
    assert [e.key for e in store.entries("ns")] == ["k"]
    clock.now += dt.timedelta(minutes=5)
    with pytest.raises(KVExpired, match="has expired"):
        store.get("ns", "k")
    assert store.lookup("ns", "k", None, error_on_missing=False) is None
    assert store.entries("ns") == []
    assert [e.key for e in store.entries("ns", include_expired=True)] == ["k"]


def test_an_overwrite_keeps_the_creation_time_and_moves_the_update_time(tmp_path: Path) -> None:
    clock = Clock()
    store = KVStore(tmp_path, clock=clock)
    first = store.put("ns", "k", "NUMBER", 1, description="counter")
    clock.now += dt.timedelta(hours=1)
    second = store.put("ns", "k", "NUMBER", 2)
    assert second.created == first.created == "2025-01-01T12:00:00.000Z"
    assert second.updated == "2025-01-01T13:00:00.000Z"
    assert store.entries("ns")[0].listing() == {"key": "k", "description": None, "creationDate": first.created,
                                                "updateDate": second.updated, "expirationDate": None}


def test_concurrent_sets_of_one_key_leave_one_whole_value(tmp_path: Path) -> None:
    store = KVStore(tmp_path)
    values = [{"writer": n, "payload": "x" * 200_000} for n in range(8)]
    seen: list[object] = []
    start = threading.Barrier(len(values) + 1)

    def write(value: dict[str, object]) -> None:
        start.wait()
        for _ in range(5):
            store.put("ns", "shared", "JSON", value)

    def read() -> None:
        start.wait()
        for _ in range(50):
            found = store.get("ns", "shared")
            if found is not None:
                seen.append(found.value)

    threads = [threading.Thread(target=write, args=(v,)) for v in values] + [threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = store.get("ns", "shared")
    assert final is not None and final.value in values
    assert all(v in values for v in seen)  # every read saw one writer's whole document
    assert [p.name for p in (tmp_path / "_kv" / "ns").iterdir()] == ["shared"]  # no temporary file left


@pytest.mark.parametrize("key", ["", "_hidden", ".dot", "a/b", "a b", "é", "k" * 256])
def test_keys_outside_kestras_pattern_are_refused_before_any_file_is_touched(tmp_path: Path, key: str) -> None:
    store = KVStore(tmp_path)
    with pytest.raises(KVError):
        store.put("ns", key, "STRING", "v")
    assert not (tmp_path / "_kv").exists()


def test_a_value_larger_than_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lanner.storage.kv.MAX_VALUE_BYTES", 1000)
    with pytest.raises(KVError, match="more than"):
        KVStore(tmp_path).put("ns", "big", "STRING", "x" * 2000)


def test_lookup_without_namespace_walks_up_to_the_root_namespace(tmp_path: Path) -> None:
    store = KVStore(tmp_path)
    store.put("a", "k", "STRING", "root")
    store.put("a.b", "k", "STRING", "middle")
    assert store.lookup("a.b.c", "k", None, error_on_missing=True) == "middle"
    assert store.lookup("a.x", "k", None, error_on_missing=True) == "root"
    with pytest.raises(KVError, match="does not exist in the namespace 'a.x'"):
        store.lookup("a.x", "k", "a.x", error_on_missing=True)


@pytest.mark.parametrize(("kv_type", "given", "stored"), [
    ("NUMBER", "12.5", 12.5),
    ("BOOLEAN", "FALSE", False),
    ("DATETIME", "2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z"),
    ("DATE", "2024-05-01T23:00:00", "2024-05-01"),
    ("DURATION", "PT1H30M", "PT1H30M"),
    ("JSON", '[1, {"a": null}]', [1, {"a": None}]),
    ("STRING", 42, "42"),
])
def test_a_declared_type_converts_the_value(kv_type: str, given: object, stored: object) -> None:
    assert kv_values.coerce(kv_type, given) == stored


@pytest.mark.parametrize(("kv_type", "given"), [("NUMBER", "abc"), ("BOOLEAN", "yes"), ("DATE", "tomorrow"),
                                                ("DURATION", "1 hour"), ("JSON", "{oops")])
def test_a_value_not_of_the_declared_type_is_refused(kv_type: str, given: str) -> None:
    with pytest.raises(LannerError):
        kv_values.coerce(kv_type, given)


@pytest.mark.parametrize(("body", "typed"), [
    ("42", ("NUMBER", 42)), ("true", ("BOOLEAN", True)), ('{"a": 1}', ("JSON", {"a": 1})),
    ('"quoted"', ("STRING", "quoted")), ("plain words", ("STRING", "plain words")),
    ("2024-05-01", ("DATE", "2024-05-01")), ("2024-05-01T10:00:00Z", ("DATETIME", "2024-05-01T10:00:00Z")),
    ("P1D", ("DURATION", "PT24H")),
    ('"2024-05-01"', ("STRING", "2024-05-01")), ('"PT5M"', ("STRING", "PT5M")), ('"42"', ("STRING", "42")),
])
def test_a_request_body_is_typed_by_its_content(body: str, typed: tuple[str, object]) -> None:
    assert kv_values.from_text(body) == typed
