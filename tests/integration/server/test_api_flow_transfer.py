"""Flow import (a YAML file of flows, or a zip of them) and export (a zip), as Kestra's CLI and
UI move flows between instances."""

from __future__ import annotations

import io
import zipfile

from tests.integration.server.harness import Server

LOG = "io.kestra.plugin.core.log.Log"


def _flow(flow_id: str, namespace: str = "company.moved") -> str:
    return f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n  - {{id: t, type: {LOG}, message: hi}}\n"


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_a_yaml_file_of_flows_imports_each_and_lists_the_bad_ones(server: Server) -> None:
    body = _flow("one") + "---\nid: bad\nnamespace: company.moved\ntasks: []\n---\n" + _flow("two")
    r = server.client.post("/flows/import", files={"fileUpload": ("flows.yml", body.encode(), "application/x-yaml")})
    assert r.status_code == 200, r.text
    assert r.json() == ["1"]
    assert {f["id"] for f in server.client.get("/flows/company.moved").json()} == {"one", "two"}
    strict = server.client.post("/flows/import", params={"failOnError": "true"},
                                files={"fileUpload": ("flows.yml", body.encode(), "application/x-yaml")})
    assert strict.status_code == 422 and "not imported: 1" in strict.json()["message"]


def test_a_zip_imports_its_yaml_files_and_export_gives_them_back(server: Server) -> None:
    upload = _zip({"a.yml": _flow("zipped_a", "company.zip"), "dir/b.yaml": _flow("zipped_b", "company.zip"),
                   "notes.txt": "not a flow", "broken.yml": "id: [\n"})
    r = server.client.post("/main/flows/import", files={"fileUpload": ("flows.zip", upload, "application/zip")})
    assert r.status_code == 200, r.text
    assert sorted(r.json()) == ["broken.yml", "notes.txt"]

    by_ids = server.client.post("/flows/export/by-ids", json=[{"namespace": "company.zip", "id": "zipped_a"}])
    assert by_ids.status_code == 200 and 'filename="flows.zip"' in by_ids.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(by_ids.content)) as archive:
        assert archive.namelist() == ["company.zip.zipped_a.yaml"]
        assert archive.read("company.zip.zipped_a.yaml").decode() == _flow("zipped_a", "company.zip")
    by_query = server.client.get("/flows/export/by-query", params={"namespace": "company.zip"})
    with zipfile.ZipFile(io.BytesIO(by_query.content)) as archive:
        assert sorted(archive.namelist()) == ["company.zip-zipped_a.yml", "company.zip-zipped_b.yml"]
    missing = server.client.post("/flows/export/by-ids", json=[{"namespace": "company.zip", "id": "nope"}])
    assert missing.status_code == 404


def test_an_oversized_zip_entry_is_not_read(server: Server) -> None:
    bomb = _zip({"huge.yml": "#" * (3 * 1024 * 1024)})  # compresses to a few KiB, over the 2 MiB flow limit
    r = server.client.post("/flows/import", files={"fileUpload": ("bomb.zip", bomb, "application/zip")})
    assert r.status_code == 200 and r.json() == ["huge.yml"]
