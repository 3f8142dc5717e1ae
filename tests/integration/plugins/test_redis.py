"""Redis tasks against real servers: private `redis-server`s started by this module, and the shared one.

Servers: a private one on a Unix socket (most tests), one on a free TCP port without a password
(for the "password given but none configured" error), one on a free TCP port with
`--requirepass secret`. The machine's shared Redis (LANNER_TEST_REDIS_URL) gets one round trip.
Without `redis-server` or redis-py the module is skipped (failed with LANNER_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lanner.expr.ion import from_ion
from tests.conftest import files_of, logs_of, run_flow
from tests.integration.plugins.conftest import _unavailable, resolves

SHARED_URL = os.environ.get("LANNER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One private redis-server process, stopped at the end of the module."""

    def __init__(self, workdir: Path, *args: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.process = subprocess.Popen(
            ["redis-server", "--save", "", "--appendonly", "no", "--dir", str(workdir), *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait(self, client_options: dict[str, Any]) -> Any:
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                client = redis.Redis(**client_options, protocol=2, decode_responses=True)
                client.ping()
                return client
            except redis.exceptions.AuthenticationError:
                return None  # up, and asking for a password
            except redis.exceptions.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    _unavailable("a private redis-server did not start")
                time.sleep(0.02)  # poll interval of a deadline-bounded wait on a positive signal

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """URLs of the private servers, and a redis-py client of the socket one for checks."""
    if shutil.which("redis-server") is None:
        _unavailable("redis-server is not installed (apt-get install redis-server)")
    try:
        import redis  # noqa: F401
    except ImportError:
        _unavailable("redis-py is not installed (pip install 'redis>=5')")
    root = tmp_path_factory.mktemp("redis")
    sock = root / "r.sock"
    started: list[Server] = []
    try:
        plain = Server(root / "socket", "--port", "0", "--unixsocket", str(sock))
        started.append(plain)
        client = plain.wait({"unix_socket_path": str(sock)})
        tcp_port, secured_port = _free_port(), _free_port()
        tcp = Server(root / "tcp", "--port", str(tcp_port), "--bind", "127.0.0.1")
        started.append(tcp)
        tcp.wait({"host": "127.0.0.1", "port": tcp_port})
        secured = Server(root / "secured", "--port", str(secured_port), "--bind", "127.0.0.1",
                         "--requirepass", "secret")
        started.append(secured)
        secured.wait({"host": "127.0.0.1", "port": secured_port})
        yield {
            "socket": f"redis-socket://{sock}",
            "tcp": f"redis://127.0.0.1:{tcp_port}/0",
            "tcp_port": tcp_port,
            "secured_port": secured_port,
            "client": client,
        }
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def url(servers: dict[str, Any]) -> str:
    servers["client"].flushall()
    return str(servers["socket"])


def outputs(exe: Any, task_id: str) -> dict[str, Any]:
    return [r for r in exe.task_runs if r.task_id == task_id][0].outputs


def states(exe: Any) -> dict[str, str]:
    return {r.task_id: str(getattr(r.state.current, "value", r.state.current)) for r in exe.task_runs}


def state(exe: Any) -> str:
    return str(getattr(exe.state.current, "value", exe.state.current))


def messages(tmp_path: Path, exe: Any, task_id: str | None = None) -> list[str]:
    return [line["message"] for line in logs_of(tmp_path, exe.id, task_id)]


# -- strings ---------------------------------------------------------------------------------


def test_set_get_delete_round_trip_and_missing_key_has_no_data(url: str, tmp_path: Path) -> None:
    flow = f"""
id: keys_string
namespace: test.redis
tasks:
  - id: set
    type: io.kestra.plugin.redis.string.Set
    url: "{url}"
    key: "key_{{{{ execution.id }}}}"
    value: "{{{{ flow.id }}}}"
    serdeType: STRING
  - id: get
    type: io.kestra.plugin.redis.string.Get
    url: "{url}"
    key: "key_{{{{ execution.id }}}}"
  - id: delete
    type: io.kestra.plugin.redis.string.Delete
    url: "{url}"
    keys:
      - "key_{{{{ execution.id }}}}"
  - id: getAfterDelete
    type: io.kestra.plugin.redis.Get
    url: "{url}"
    key: "key_{{{{ execution.id }}}}"
  - id: check
    type: io.kestra.plugin.core.log.Log
    message: "before={{{{ outputs.get contains 'data' }}}} after={{{{ outputs.getAfterDelete contains 'data' }}}}"
"""
    exe = run_flow(flow, tmp_path)
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    assert outputs(exe, "get") == {"data": "keys_string", "key": f"key_{exe.id}"}
    assert outputs(exe, "set") == {}
    assert outputs(exe, "delete") == {"count": 1}
    assert outputs(exe, "getAfterDelete") == {"key": f"key_{exe.id}"}
    assert "before=true after=false" in messages(tmp_path, exe, "check")


def test_json_serde_round_trip_from_a_map_and_from_a_json_string(url: str, tmp_path: Path,
                                                                 servers: dict[str, Any]) -> None:
    flow = f"""
id: keys_json
namespace: test.redis
tasks:
  - id: from_map
    type: io.kestra.plugin.redis.Set
    url: "{url}"
    key: map
    serdeType: JSON
    value:
      flow: "{{{{ flow.id }}}}"
      numbers: [1, 2.5]
      ok: true
  - id: from_string
    type: io.kestra.plugin.redis.Set
    url: "{url}"
    key: text
    serdeType: JSON
    value: '{{"city": "Paris", "n": 5}}'
  - id: get_map
    type: io.kestra.plugin.redis.Get
    url: "{url}"
    key: map
    serdeType: JSON
  - id: get_text
    type: io.kestra.plugin.redis.Get
    url: "{url}"
    key: text
    serdeType: JSON
  - id: use
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ outputs.get_text.data.city }}}}-{{{{ outputs.get_map.data.numbers[1] }}}}"
"""
    exe = run_flow(flow, tmp_path)
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    assert outputs(exe, "get_map")["data"] == {"flow": "keys_json", "numbers": [1, 2.5], "ok": True}
    assert outputs(exe, "get_text")["data"] == {"city": "Paris", "n": 5}
    assert servers["client"].get("text") == '{"city":"Paris","n":5}'  # compact JSON, as Jackson writes it
    assert "Paris-2.5" in messages(tmp_path, exe, "use")


def test_json_serde_refuses_a_value_that_is_not_json(url: str, tmp_path: Path) -> None:
    flow = f"""
id: bad_json
namespace: test.redis
tasks:
  - id: set
    type: io.kestra.plugin.redis.string.Set
    url: "{url}"
    key: k
    value: hello
    serdeType: JSON
"""
    exe = run_flow(flow, tmp_path)
    assert state(exe) == "FAILED"
    assert any("is not valid JSON" in m and "serdeType" in m for m in messages(tmp_path, exe, "set"))


def test_get_true_returns_the_old_value_only_when_there_was_one(url: str, tmp_path: Path) -> None:
    flow = f"""
id: set_get
namespace: test.redis
tasks:
  - id: first
    type: io.kestra.plugin.redis.string.Set
    url: "{url}"
    key: k
    value: one
    get: true
  - id: second
    type: io.kestra.plugin.redis.string.Set
    url: "{url}"
    key: k
    value: two
    get: "{{{{ true }}}}"
"""
    exe = run_flow(flow, tmp_path)
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    assert outputs(exe, "first") == {}
    assert outputs(exe, "second") == {"oldValue": "one"}


def test_expiration_options(url: str, tmp_path: Path, servers: dict[str, Any]) -> None:
    flow = f"""
id: ttl
namespace: test.redis
tasks:
  - id: duration
    type: io.kestra.plugin.redis.string.Set
    url: "{url}"
    key: short
    value: v
    options:
      expirationDuration: PT10S
  - id: date
    type: io.kestra.plugin.redis.string.Set
    url: "{url}"
    key: dated
    value: v
    options:
      expirationDate: "2099-01-01T00:00:00Z"
  - id: gone
    type: io.kestra.plugin.redis.string.Set
    url: "{url}"
    key: gone
    value: v
    options:
      expirationDuration: PT0.2S
"""
    exe = run_flow(flow, tmp_path)
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    client = servers["client"]
    assert 0 < client.pttl("short") <= 10_000
    assert client.pttl("dated") > 365 * 24 * 3600 * 1000
    assert client.pttl("gone") <= 200  # an expiry of at most PT0.2S was set (-2 once it is already gone)
    deadline = time.monotonic() + 5
    while client.exists("gone") and time.monotonic() < deadline:
        time.sleep(0.02)  # poll interval of a deadline-bounded wait on a positive signal
    assert client.exists("gone") == 0


def test_keep_ttl_with_an_expiration_is_refused_and_must_not_exist_keeps_the_value(
        url: str, tmp_path: Path, servers: dict[str, Any]) -> None:
    servers["client"].set("k", "original")
    flow = f"""
id: options
namespace: test.redis
tasks:
  - id: nx
    type: io.kestra.plugin.redis.string.Set
    url: "{url}"
    key: k
    value: replaced
    options:
      mustNotExist: true
  - id: conflict
    type: io.kestra.plugin.redis.string.Set
    url: "{url}"
    key: k
    value: v
    options:
      keepTtl: true
      expirationDuration: PT10S
"""
    exe = run_flow(flow, tmp_path)
    assert states(exe) == {"nx": "SUCCESS", "conflict": "FAILED"}
    assert servers["client"].get("k") == "original"
    assert any("`keepTtl` cannot be used with `expirationDuration`" in m for m in messages(tmp_path, exe, "conflict"))


def test_delete_counts_and_failed_on_missing(url: str, tmp_path: Path, servers: dict[str, Any]) -> None:
    servers["client"].mset({"a": "1", "b": "2"})
    flow = f"""
id: delete
namespace: test.redis
tasks:
  - id: lenient
    type: io.kestra.plugin.redis.string.Delete
    url: "{url}"
    keys: [a, missing]
  - id: strict
    type: io.kestra.plugin.redis.string.Delete
    url: "{url}"
    keys: '["b", "missing"]'
    failedOnMissing: true
"""
    exe = run_flow(flow, tmp_path)
    assert states(exe) == {"lenient": "SUCCESS", "strict": "FAILED"}
    assert outputs(exe, "lenient") == {"count": 1}
    assert servers["client"].exists("a", "b") == 0
    assert any("Only 1 of 2 keys were deleted" in m for m in messages(tmp_path, exe, "strict"))


def test_get_failed_on_missing(url: str, tmp_path: Path) -> None:
    flow = f"""
id: get_missing
namespace: test.redis
tasks:
  - id: get
    type: io.kestra.plugin.redis.string.Get
    url: "{url}"
    key: nothing-here
    failedOnMissing: true
"""
    exe = run_flow(flow, tmp_path)
    assert state(exe) == "FAILED"
    assert any("Key `nothing-here` does not exist" in m for m in messages(tmp_path, exe, "get"))


# -- lists -----------------------------------------------------------------------------------


def test_list_push_then_pop_in_batches(url: str, tmp_path: Path) -> None:
    flow = f"""
id: lists
namespace: test.redis
tasks:
  - id: push
    type: io.kestra.plugin.redis.list.ListPush
    url: "{url}"
    key: mylist
    from: [value1, value2, "{{{{ flow.id }}}}"]
  - id: pop1
    type: io.kestra.plugin.redis.list.ListPop
    url: "{url}"
    key: mylist
    count: 2
    maxRecords: 2
  - id: pop2
    type: io.kestra.plugin.redis.ListPop
    url: "{url}"
    key: mylist
    count: 2
    maxRecords: 2
  - id: pop3
    type: io.kestra.plugin.redis.ListPop
    url: "{url}"
    key: mylist
    maxDuration: PT1S
"""
    exe = run_flow(flow, tmp_path)
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    assert outputs(exe, "push") == {"count": 3}
    assert [outputs(exe, t)["count"] for t in ("pop1", "pop2", "pop3")] == [2, 1, 0]
    files = files_of(tmp_path)
    first = outputs(exe, "pop1")["uri"]
    assert first.startswith("kestra://") and first.endswith(".ion")
    assert from_ion_rows(files.get(first).decode()) == ["lists", "value2"]  # LPUSH puts the last value first
    assert files.get(outputs(exe, "pop3")["uri"]) == b""


def test_max_records_caps_the_batch_and_json_records_pop_as_structures(url: str, tmp_path: Path,
                                                                      servers: dict[str, Any]) -> None:
    flow = f"""
id: lists_json
namespace: test.redis
tasks:
  - id: push
    type: io.kestra.plugin.redis.ListPush
    url: "{url}"
    key: cities
    from: '["{{\\"city\\":\\"Paris\\"}}", "{{\\"city\\":\\"London\\"}}", "{{\\"city\\":\\"Rome\\"}}"]'
  - id: pop
    type: io.kestra.plugin.redis.list.ListPop
    url: "{url}"
    key: cities
    serdeType: JSON
    maxRecords: 1
"""
    exe = run_flow(flow, tmp_path)
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    assert outputs(exe, "push") == {"count": 3}
    assert outputs(exe, "pop")["count"] == 1
    assert from_ion_rows(files_of(tmp_path).get(outputs(exe, "pop")["uri"]).decode()) == [{"city": "Rome"}]
    assert servers["client"].llen("cities") == 2  # the records beyond maxRecords stay in the list


def test_list_push_from_a_record_file_of_internal_storage(url: str, tmp_path: Path,
                                                          servers: dict[str, Any]) -> None:
    servers["client"].rpush("source", '{"n":1}', '{"n":2}', '{"n":3}')
    flow = f"""
id: from_file
namespace: test.redis
tasks:
  - id: pop
    type: io.kestra.plugin.redis.list.ListPop
    url: "{url}"
    key: source
    serdeType: JSON
    maxRecords: 10
  - id: push
    type: io.kestra.plugin.redis.list.ListPush
    url: "{url}"
    key: copy
    serdeType: JSON
    from: "{{{{ outputs.pop.uri }}}}"
"""
    exe = run_flow(flow, tmp_path)
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    assert outputs(exe, "push") == {"count": 3}
    assert servers["client"].lrange("copy", 0, -1) == ['{"n":3}', '{"n":2}', '{"n":1}']


def test_list_pop_needs_a_limit(url: str, tmp_path: Path) -> None:
    flow = f"""
id: no_limit
namespace: test.redis
tasks:
  - id: pop
    type: io.kestra.plugin.redis.list.ListPop
    url: "{url}"
    key: anything
"""
    exe = run_flow(flow, tmp_path)
    assert state(exe) == "FAILED"
    assert any("`maxRecords` or `maxDuration` must be set" in m for m in messages(tmp_path, exe, "pop"))


def from_ion_rows(text: str) -> list:
    return list(from_ion(text, all_rows=True))


def test_ion_reader_reads_what_kestra_writes() -> None:
    text = ('{city:"Paris",\'zip code\':75001,ok:true,tags:["a",b],at:2024-01-02T03:04:05Z}\n'
            '1.5\n0x10\nnull.string\n/* comment */ ann::"annotated"\n\'\'\'long \'\'\' \'\'\'string\'\'\'\n')
    assert from_ion_rows(text) == [
        {"city": "Paris", "zip code": 75001, "ok": True, "tags": ["a", "b"],
         "at": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)},
        Decimal("1.5"), 16, None, "annotated", "long string",
    ]


# -- connection, passwords, errors -----------------------------------------------------------


def _one_task(url: str, *, prop: str = "url") -> str:
    return f"""
id: conn
namespace: test.redis
tasks:
  - id: get
    type: io.kestra.plugin.redis.string.Get
    {prop}: "{url}"
    key: k
"""


def test_password_protected_server_over_tcp_with_the_old_uri_property(servers: dict[str, Any],
                                                                      tmp_path: Path) -> None:
    exe = run_flow(_one_task(f"redis://:secret@127.0.0.1:{servers['secured_port']}/0", prop="uri"), tmp_path)
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    assert outputs(exe, "get") == {"key": "k"}


def test_wrong_password_says_so_with_the_password_masked(servers: dict[str, Any], tmp_path: Path) -> None:
    exe = run_flow(_one_task(f"redis://:wrongpw@127.0.0.1:{servers['secured_port']}/0"), tmp_path)
    assert state(exe) == "FAILED"
    errors = [m for m in messages(tmp_path, exe, "get") if "Redis" in m]
    assert errors, messages(tmp_path, exe)
    assert f"redis://:****@127.0.0.1:{servers['secured_port']}/0" in errors[0]
    assert "rejected the password" in errors[0]
    assert all("wrongpw" not in m for m in messages(tmp_path, exe))


def test_password_given_to_a_server_without_one_says_to_remove_it(servers: dict[str, Any], tmp_path: Path) -> None:
    exe = run_flow(_one_task(f"redis://:redis@127.0.0.1:{servers['tcp_port']}/0"), tmp_path)
    assert state(exe) == "FAILED"
    errors = [m for m in messages(tmp_path, exe, "get") if "Redis" in m]
    assert errors, messages(tmp_path, exe)
    assert "has no password set" in errors[0] and "remove the password from the URL" in errors[0]
    assert "requirepass" in errors[0]
    assert f"redis://:****@127.0.0.1:{servers['tcp_port']}/0" in errors[0]


def test_missing_password_says_the_server_requires_one(servers: dict[str, Any], tmp_path: Path) -> None:
    exe = run_flow(_one_task(f"redis://127.0.0.1:{servers['secured_port']}/0"), tmp_path)
    assert state(exe) == "FAILED"
    assert any("requires a password" in m for m in messages(tmp_path, exe, "get"))


def test_unreachable_server_and_unknown_host(tmp_path: Path) -> None:
    port = _free_port()  # nothing listens there once the probe socket is closed
    exe = run_flow(_one_task(f"redis://:pw@127.0.0.1:{port}/0"), tmp_path)
    assert state(exe) == "FAILED"
    refused = [m for m in messages(tmp_path, exe, "get") if "Cannot connect" in m]
    assert refused and "connection refused" in refused[0] and f"redis://:****@127.0.0.1:{port}/0" in refused[0]
    other = tmp_path / "dns"
    other.mkdir()
    exe = run_flow(_one_task("redis://nosuchhost.invalid:6379/0"), other)
    assert state(exe) == "FAILED"
    assert any("cannot be resolved" in m for m in messages(other, exe, "get"))


def test_host_docker_internal_means_this_host_where_it_does_not_resolve(servers: dict[str, Any],
                                                                         tmp_path: Path) -> None:
    """Kestra's flows reach a Redis published on the host as host.docker.internal; the tasks here run
    on the host, so where that name does not resolve it is this host, and messages keep the name."""
    if resolves("host.docker.internal"):
        pytest.skip("host.docker.internal resolves on this machine: it is used as it resolves")
    exe = run_flow(_one_task(f"redis://:secret@host.docker.internal:{servers['secured_port']}/0"), tmp_path)
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    said = messages(tmp_path, exe, "get")
    assert any("`host.docker.internal` does not resolve on this machine" in m and "127.0.0.1" in m for m in said)
    assert f"Connected to Redis at redis://:****@host.docker.internal:{servers['secured_port']}/0" in said


def test_url_or_uri_is_required_at_validation() -> None:
    from lanner.errors import ValidationErrors
    from lanner.loading.flows import load_flow

    with pytest.raises(ValidationErrors) as caught:
        load_flow("id: f\nnamespace: n\ntasks:\n  - id: g\n    type: io.kestra.plugin.redis.string.Get\n    key: k\n")
    assert "`url` is required" in str(caught.value.render() if hasattr(caught.value, "render") else caught.value)


def test_shared_server_round_trip(tmp_path: Path) -> None:
    """The machine's shared Redis (LANNER_TEST_REDIS_URL), with keys unique to the execution."""
    try:
        import redis

        redis.Redis.from_url(SHARED_URL, socket_connect_timeout=2).ping()
    except ImportError:
        _unavailable("redis-py is not installed")
    except Exception as exc:  # noqa: BLE001 - any failure means the shared server is not usable
        _unavailable(f"the shared Redis at {SHARED_URL} is not reachable ({type(exc).__name__})")
    flow = f"""
id: shared
namespace: test.redis
tasks:
  - id: set
    type: io.kestra.plugin.redis.string.Set
    url: "{SHARED_URL}"
    key: "lanner_test_{{{{ execution.id }}}}"
    value: "{{{{ execution.id }}}}"
    options:
      expirationDuration: PT1M
  - id: get
    type: io.kestra.plugin.redis.string.Get
    url: "{SHARED_URL}"
    key: "lanner_test_{{{{ execution.id }}}}"
  - id: delete
    type: io.kestra.plugin.redis.string.Delete
    url: "{SHARED_URL}"
    keys: ["lanner_test_{{{{ execution.id }}}}"]
    failedOnMissing: true
"""
    exe = run_flow(flow, tmp_path)
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    assert outputs(exe, "get")["data"] == exe.id
    assert outputs(exe, "delete") == {"count": 1}
