"""The pure parts of the server's doors: identifier rules, storage paths, Host and route
classification, the wrong-password throttle, and query-parameter parsing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lanner.errors import LannerError
from lanner.model import ids
from lanner.server import params
from lanner.server.middleware import api_route, host_name, is_upload, is_webhook
from lanner.server.problems import ApiProblem
from lanner.server.settings import ServerSettings
from lanner.server.throttle import Throttle
from lanner.storage.files import LocalFiles, inside, safe_name


@pytest.mark.parametrize(("kind", "value"), [
    ("namespace", "...."), ("namespace", "Company"), ("namespace", ""), ("namespace", "a/b"), ("namespace", "a" * 151),
    ("flow id", "../x"), ("flow id", ".hidden"), ("flow id", "a b"), ("task id", "a.b"), ("input id", "../../tmp/x"),
    ("execution id", ".."), ("tenant", "Main"), ("webhook key", "a/b"), ("webhook key", "a\x00b"),
])
def test_an_identifier_breaking_its_rule_says_which(kind: str, value: str) -> None:
    with pytest.raises(ids.BadIdentifier) as caught:
        ids.check(kind, value)
    assert caught.value.kind == kind and kind in caught.value.render()


@pytest.mark.parametrize(("kind", "value"), [
    ("namespace", "company.team-1_x"), ("namespace", "a..b"), ("flow id", "Hello.World_2"), ("task id", "t-1"),
    ("input id", "my.input"), ("execution id", "4wjtkzwVGBM9yKnjm3yv8r"), ("tenant", "main"), ("webhook key", "k3y!"),
])
def test_a_valid_identifier_passes(kind: str, value: str) -> None:
    assert ids.check(kind, value) == value


def test_storage_paths_stay_under_the_root_whatever_the_parts(tmp_path: Path) -> None:
    files = LocalFiles(tmp_path / "storage")
    uri = files.put("a..b", "f", "E1", "inputs", "data", "../../../etc/passwd", b"x")
    assert uri == "kestra:///a/b/f/executions/E1/tasks/inputs/data/passwd"
    for bad in (("....", "f"), ("a", "../f"), ("a", "/abs")):
        with pytest.raises(LannerError):
            files.put(bad[0], bad[1], "E1", "t", "R1", "n", b"x")
    with pytest.raises(LannerError):
        files.put("a", "f", "E1", "inputs", "../../../../x", "n", b"x")
    (tmp_path / "storage" / "link").symlink_to(tmp_path)
    with pytest.raises(LannerError, match="outside internal storage"):
        inside(tmp_path / "storage", "link", "escaped")
    with pytest.raises(LannerError, match="outside internal storage"):
        files.get("kestra:///../../etc/passwd")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["storage"]
    assert safe_name("..") == "file" and safe_name("a b/../c:d") == "c_d"


def test_removing_an_upload_removes_its_empty_folders_only(tmp_path: Path) -> None:
    files = LocalFiles(tmp_path / "storage")
    keep = files.put("a", "f", "E1", "inputs", "one", "x.txt", b"1")
    gone = files.put("a", "f", "E1", "inputs", "two", "y.txt", b"2")
    files.remove(gone)
    assert files.get(keep) == b"1"
    assert not files.path(gone).parent.exists() and files.path(keep).exists()
    files.remove(keep)
    assert list((tmp_path / "storage").iterdir()) == []


def test_host_names_and_routes_are_classified_exactly() -> None:
    assert host_name("[::1]:8080") == "::1" and host_name("Example.COM:80") == "example.com"
    settings = ServerSettings(allowed_hosts=("lanner.test", ".corp.example"))
    assert all(settings.host_allowed(h) for h in ("localhost", "127.0.0.1", "::1", "lanner.test", "ci.corp.example"))
    assert not any(settings.host_allowed(h) for h in ("attacker.example", "lanner.test.attacker.example",
                                                      "127.0.0.1.nip.io", "corp.example.evil"))
    assert is_webhook(api_route("/api/v1/executions/webhook/ns/f/key"))
    assert is_webhook(api_route("/api/v1/main/executions/webhook/ns/f/key"))
    for path in ("/api/v1/executions/webhook/f", "/api/v1/executions/webhook/ns/f/key/",
                 "/api/v1/other/executions/webhook/ns/f/k",
                 "/api/v1/executions/webhook/ns//key", "/ping/../api/v1/flows"):
        assert not is_webhook(api_route(path)), path
    assert is_upload("POST", api_route("/api/v1/executions/ns/f"))
    assert not is_upload("POST", api_route("/api/v1/flows/ns/f"))
    assert not is_upload("PUT", api_route("/api/v1/executions/ns/f"))
    assert not is_upload("POST", api_route("/api/v1/executions/E1/restart"))


def test_the_throttle_locks_one_address_after_its_failures_until_the_lockout_ends() -> None:
    now = [1000.0]
    throttle = Throttle(max_failures=3, lockout=60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.retry_after("a") == 0
        throttle.failed("a")
    assert throttle.retry_after("a") == 60 and throttle.retry_after("b") == 0
    now[0] += 45
    assert throttle.retry_after("a") == 15
    now[0] += 15
    assert throttle.retry_after("a") == 0
    throttle.failed("a")
    assert throttle.retry_after("a") == 0  # the count started again after the lockout
    throttle.failed("b")
    throttle.succeeded("b")
    assert throttle.retry_after("b") == 0


def test_query_parameters_parse_or_say_what_is_allowed() -> None:
    assert params.instant("startDate", "2024-05-01T10:30:00+02:00") == dt.datetime(2024, 5, 1, 8, 30, tzinfo=dt.UTC)
    assert params.instant("startDate", "2024-05-01T10:30:00 02:00") is not None  # a `+` decoded as a space
    for bad in ("2024-05-01T10:30:00", "tomorrow", "2024-13-01T00:00:00Z"):
        with pytest.raises(ApiProblem) as caught:
            params.instant("startDate", bad)
        assert caught.value.status == 400
    assert params.states(["success,failed", "KILLED"]) == ["SUCCESS", "FAILED", "KILLED"]
    with pytest.raises(ApiProblem, match="is not a state"):
        params.states(["DONE"])
    assert params.sort("id:DESC", {"id"}) == "id:desc" and params.sort(None, {"id"}) is None
    with pytest.raises(ApiProblem, match="not a field"):
        params.sort("data", {"id", "state"})


@pytest.mark.parametrize(("field", "value", "says"), [
    ("max_upload_bytes", 0, "LANNER_MAX_UPLOAD_BYTES=0 must be at least 1"),
    ("auth_max_failures", -1, "LANNER_AUTH_MAX_FAILURES=-1 must be at least 1"),
    ("allowed_origins", ("lanner.example",), "`lanner.example` is not an origin"),
    ("allowed_origins", ("https://lanner.example/ui",), "is not an origin"),
])
def test_an_unusable_door_setting_is_refused_at_start_up(field: str, value: object, says: str) -> None:
    settings = ServerSettings(**{field: value})  # type: ignore[arg-type]
    with pytest.raises(LannerError, match=says):
        settings.check()
