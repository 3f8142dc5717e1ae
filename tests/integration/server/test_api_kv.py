"""Kestra's KV routes on a real `lanner server local` process: typed puts, reads, listings with
metadata, deletes (one and bulk), TTL headers, and refusals as JSON problems."""

from __future__ import annotations

import pytest

from tests.integration.server.harness import Server

KV = "/main/namespaces/company.api/kv"


def test_put_types_the_value_from_the_body_and_get_returns_type_and_value(server: Server) -> None:
    c = server.client
    cases = {"n": ("42", {"type": "NUMBER", "value": 42}),
             "doc": ('{"a": [1]}', {"type": "JSON", "value": {"a": [1]}}),
             "flag": ("false", {"type": "BOOLEAN", "value": False}),
             "text": ("hello there", {"type": "STRING", "value": "hello there"}),
             "day": ("2024-05-01", {"type": "DATE", "value": "2024-05-01"}),
             "span": ("PT5M", {"type": "DURATION", "value": "PT5M"})}
    for key, (body, _) in cases.items():
        r = c.put(f"{KV}/{key}", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text
    for key, (_, expected) in cases.items():
        assert c.get(f"{KV}/{key}").json() == expected


def test_a_value_put_through_the_api_is_read_by_a_flow(server: Server) -> None:
    assert server.client.put(f"{KV}/greeting", content='"from the API"',
                             headers={"Content-Type": "application/json"}).status_code == 200
    server.deploy("""
id: kv_reader
namespace: company.api
tasks:
  - id: get
    type: io.kestra.plugin.core.kv.Get
    key: greeting
""")
    exe = server.run("company.api", "kv_reader")
    exe = server.wait_state(exe["id"])
    assert exe["state"]["current"] == "SUCCESS"
    assert exe["taskRunList"][0]["outputs"] == {"value": "from the API"}


def test_listing_shows_metadata_and_the_ttl_header_sets_the_expiry(server: Server) -> None:
    c = server.client
    r = c.put("/main/namespaces/company.meta/kv/temp", content='"x"',
              headers={"Content-Type": "application/json", "ttl": "PT1H", "description": "a temporary key"})
    assert r.status_code == 200, r.text
    listing = c.get("/main/namespaces/company.meta/kv").json()
    assert [e["key"] for e in listing] == ["temp"]
    entry = listing[0]
    assert entry["description"] == "a temporary key"
    assert entry["expirationDate"] > entry["creationDate"]
    parents = c.get("/main/namespaces/company.meta/kv/inheritance").json()
    assert [p["namespace"] for p in parents] == ["company.meta", "company"]


def test_delete_one_and_bulk_say_what_was_deleted(server: Server) -> None:
    c = server.client
    base = "/main/namespaces/company.del/kv"
    for key in ("a", "b", "c"):
        c.put(f"{base}/{key}", content="1", headers={"Content-Type": "application/json"})
    assert c.delete(f"{base}/a").json() is True
    assert c.delete(f"{base}/a").json() is False
    r = c.request("DELETE", base, json={"keys": ["b", "c", "absent"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"keys": ["b", "c"]}
    assert c.get(base).json() == []


@pytest.mark.parametrize("key", ["_x", "a b", "-dash"])
def test_a_bad_key_is_refused_with_kestras_rule(server: Server, key: str) -> None:
    r = server.client.put(f"{KV}/{key}", content="1", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert "Key must start with an alphanumeric character" in r.json()["message"]


def test_a_missing_key_is_a_404_problem(server: Server) -> None:
    r = server.client.get(f"{KV}/never_set")
    assert r.status_code == 404
    assert r.json()["message"] == "No value found for key 'never_set' in namespace 'company.api'"


def test_a_bad_ttl_header_is_refused(server: Server) -> None:
    r = server.client.put(f"{KV}/k", content="1", headers={"Content-Type": "application/json", "ttl": "forever"})
    assert r.status_code == 422
    assert "is not a duration" in r.json()["message"]


def test_a_text_plain_put_is_refused_as_a_cross_site_risk_with_the_way_out(server: Server) -> None:
    r = server.client.put(f"{KV}/plain", content="hello", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert r.json()["hint"] == "send Content-Type: application/json"
