"""Kestra's namespaces routes on a real `lanner server local` process: the namespaces of flows,
of namespace files and of KV keys, each with its parents, searched and paged as Kestra's
`/namespaces/search` answers, with what each namespace holds counted; and a KV body typed the
way Kestra reads it (a quoted text stays a STRING)."""

from __future__ import annotations

import uuid

from tests.integration.server.harness import Server

LOG = "io.kestra.plugin.core.log.Log"


def _flow(namespace: str, flow_id: str) -> str:
    return f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n  - {{id: t, type: {LOG}, message: hi}}\n"


def test_search_lists_namespaces_of_flows_files_and_keys_with_their_parents_and_counts(server: Server) -> None:
    root = f"nsapi{uuid.uuid4().hex[:6]}"
    c = server.client
    server.deploy(_flow(f"{root}.team.flows", "one"))
    server.deploy(_flow(f"{root}.team.flows", "two"))
    r = c.post(f"/main/namespaces/{root}.files/files", params={"path": "/a/b.py"},
               files={"fileContent": ("b.py", b"x")})
    assert r.status_code == 200, r.text
    c.post(f"/main/namespaces/{root}.files/files", params={"path": "/c.txt"}, files={"fileContent": ("c.txt", b"y")})
    r = c.put(f"/main/namespaces/{root}.keys/kv/k1", content="1", headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text

    page = c.get("/main/namespaces/search", params={"q": root, "size": 100}).json()
    by_id = {n["id"]: n for n in page["results"]}
    assert list(by_id) == [root, f"{root}.files", f"{root}.keys", f"{root}.team", f"{root}.team.flows"]
    assert page["total"] == 5
    counts = {ns: (n["flowCount"], n["fileCount"], n["kvCount"]) for ns, n in by_id.items()}
    assert counts == {root: (0, 0, 0), f"{root}.files": (0, 2, 0), f"{root}.keys": (0, 0, 1),
                      f"{root}.team": (0, 0, 0), f"{root}.team.flows": (2, 0, 0)}
    assert all(n["deleted"] is False for n in page["results"])

    second = c.get("/main/namespaces/search", params={"q": root, "size": 2, "page": 2, "sort": "id:desc"}).json()
    assert [n["id"] for n in second["results"]] == [f"{root}.keys", f"{root}.files"] and second["total"] == 5
    assert f"{root}.team" in c.get("/namespaces/ids").json()
    one = c.get(f"/main/namespaces/{root}.files").json()
    assert (one["id"], one["fileCount"]) == (f"{root}.files", 2)


def test_an_executions_files_do_not_make_namespaces(server: Server) -> None:
    root = f"nsexe{uuid.uuid4().hex[:6]}"
    server.deploy(f"""id: writer
namespace: {root}
tasks:
  - id: w
    type: io.kestra.plugin.core.storage.Write
    content: hello
""")
    exe = server.wait_state(server.run(root, "writer")["id"])
    assert exe["state"]["current"] == "SUCCESS"
    ids = server.client.get("/namespaces/ids").json()
    assert [n for n in ids if n.startswith(root)] == [root]


def test_search_refuses_what_it_does_not_take(server: Server) -> None:
    c = server.client
    assert c.get("/main/namespaces/search", params={"sort": "flows:asc"}).status_code == 400
    assert c.get("/main/namespaces/search", params={"size": 0}).status_code == 400
    assert c.get("/main/namespaces/search", params={"nmespace": "x"}).status_code == 400
    assert c.get("/main/namespaces/Bad..Name").status_code == 400


def test_a_quoted_body_is_kept_a_string_and_a_bare_date_is_a_date(server: Server) -> None:
    kv = "/main/namespaces/company.nstypes/kv"
    json_type = {"Content-Type": "application/json"}
    for key, body in (("quoted_date", '"2024-05-01"'), ("quoted_span", '"PT5M"'), ("quoted_number", '"42"'),
                      ("bare_date", "2024-05-01")):
        assert server.client.put(f"{kv}/{key}", content=body, headers=json_type).status_code == 200
    got = {k: server.client.get(f"{kv}/{k}").json() for k in ("quoted_date", "quoted_span", "quoted_number",
                                                              "bare_date")}
    assert got == {"quoted_date": {"type": "STRING", "value": "2024-05-01"},
                   "quoted_span": {"type": "STRING", "value": "PT5M"},
                   "quoted_number": {"type": "STRING", "value": "42"},
                   "bare_date": {"type": "DATE", "value": "2024-05-01"}}
