"""Attacks 3 and 5 of issue 11, and the database password at start-up: with basic auth only the
exact webhook route (with its key) and /ping are open, wrong passwords are throttled per client
address without stalling anyone else, and nothing secret is printed."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import httpx
import pytest

from tests.integration.server.harness import Server
from tests.security.conftest import PASSWORD, USER

HOOKED = """id: run_me
namespace: webhook
tasks:
  - {id: t, type: io.kestra.plugin.core.log.Log, message: ran}
triggers:
  - {id: w, type: io.kestra.plugin.core.trigger.Webhook, key: the-key}
"""


def _from(address: str, **kw: object) -> httpx.Client:
    """A client whose requests come from another loopback address (another client, to the server)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30, **kw)  # type: ignore[arg-type]


def test_a_flow_of_namespace_webhook_cannot_be_run_without_credentials(guarded: Server) -> None:
    guarded.deploy(HOOKED)
    for path in ("/api/v1/executions/webhook/run_me", "/api/v1/main/executions/webhook/run_me",
                 "/api/v1/executions/webhook/run_me/", "/api/v1/executions/webhook/webhook/run_me/the-key/x"):
        r = httpx.post(guarded.url + path)
        assert r.status_code == 401, (path, r.status_code, r.text)
    assert guarded.executions(flowId="run_me") == []
    wrong_key = httpx.post(guarded.url + "/api/v1/executions/webhook/webhook/run_me/not-the-key")
    assert wrong_key.status_code == 404
    assert guarded.executions(flowId="run_me") == []
    for path in ("/api/v1/executions/webhook/webhook/run_me/the-key",
                 "/api/v1/main/executions/webhook/webhook/run_me/the-key"):
        assert httpx.post(guarded.url + path).status_code == 200, path
    assert len(guarded.executions(flowId="run_me")) == 2


def test_wrong_passwords_from_one_address_are_throttled_without_locking_out_others(guarded: Server) -> None:
    attacker, owner = _from("127.0.0.9"), _from("127.0.0.10")
    url = guarded.url + "/api/v1/flows/search"
    try:
        assert attacker.get(url).status_code == 401  # no credentials at all: not a failed guess
        statuses = [attacker.get(url, auth=(USER, f"guess{i}")).status_code for i in range(3)]
        assert statuses == [401, 401, 401]
        locked = attacker.get(url, auth=(USER, "guess4"))
        assert locked.status_code == 429, locked.text
        assert int(locked.headers["retry-after"]) > 0 and "too many failed sign-ins" in locked.json()["message"]
        assert attacker.get(url, auth=(USER, PASSWORD)).status_code == 429  # guessing right does not help now
        assert owner.get(url, auth=(USER, PASSWORD)).status_code == 200
        assert owner.get(guarded.url + "/ping").text == "pong"
    finally:
        attacker.close()
        owner.close()


def test_ping_and_the_owner_keep_working_while_wrong_passwords_are_checked(guarded: Server) -> None:
    checked: list[int] = []

    def guess(n: int) -> None:
        with _from(f"127.0.1.{n}") as c:
            for i in range(3):  # within the failure limit, so each one costs a password check
                checked.append(c.get(guarded.url + "/api/v1/flows/search", auth=(USER, f"x{i}")).status_code)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(guess, n) for n in range(2, 26)]
        with _from("127.0.0.11") as owner:
            while not checked:  # the first wrong password has been answered: checks are under way
                concurrent.futures.wait(futures, timeout=0.01, return_when=concurrent.futures.FIRST_COMPLETED)
            assert owner.get(guarded.url + "/ping").text == "pong"
            assert owner.get(guarded.url + "/api/v1/configs", auth=(USER, PASSWORD)).status_code == 200
            still_guessing = not all(f.done() for f in futures)
        for f in futures:
            f.result()
    assert still_guessing  # /ping and the owner were answered while wrong passwords were being checked
    assert checked.count(401) == 24 * 3


def test_the_database_password_is_not_printed_at_start_up(tmp_path: Path) -> None:
    from tests.integration.cluster.databases import open_postgres

    dbs = open_postgres()
    try:
        base = dbs.new()
        scheme, rest = base.split("://", 1)
        user, _, host = rest.partition("@")
        url = f"{scheme}://{user}:TopSecret-42@{host}"  # trust auth: the password is ignored, not refused
        srv = Server(tmp_path / "home")
        srv.env["LANNER_DATABASE_URL"] = url
        srv.start()
        try:
            assert srv.client.get("/configs").status_code == 200
            banner = srv.output()
            assert "Lanner server on http://127.0.0.1" in banner
            assert "TopSecret-42" not in banner and f"{user}@" in banner
        finally:
            srv.stop()
    finally:
        dbs.close()


@pytest.mark.parametrize("header", ["Basic", "Basic !!!", "Bearer x", "Basic " + "A" * 5000])
def test_malformed_credentials_are_a_plain_401(guarded: Server, header: str) -> None:
    with _from("127.0.0.12") as c:
        r = c.get(guarded.url + "/api/v1/flows/search", headers={"Authorization": header})
    assert r.status_code in (401, 429) and "Traceback" not in r.text
