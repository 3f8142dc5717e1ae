"""Secrets are masked in what users and tasks wrote, never in what identifies an execution."""

from __future__ import annotations

from lanner.model.inputs import MASK, mask_execution_json


def document() -> dict:
    return {"id": "Eeee1", "namespace": "company.team", "flowId": "etl", "state": {"current": "SUCCESS"},
            "inputs": {"token": "e"}, "labels": [{"key": "env", "value": "dev"}], "somethingNew": "e",
            "taskRunList": [{"id": "Teee2", "taskId": "extract", "executionId": "Eeee1", "value": "e",
                             "outputs": {"id": "e", "value": "abc-e"}, "state": {"current": "SUCCESS"}}]}


def test_identifiers_and_states_keep_every_letter_of_a_one_letter_secret() -> None:
    masked = mask_execution_json(document(), ["e"])
    assert (masked["id"], masked["namespace"], masked["flowId"]) == ("Eeee1", "company.team", "etl")
    run = masked["taskRunList"][0]
    assert (run["id"], run["taskId"], run["executionId"]) == ("Teee2", "extract", "Eeee1")
    assert masked["state"] == {"current": "SUCCESS"} and run["state"] == {"current": "SUCCESS"}


def test_what_users_and_tasks_wrote_is_masked_even_under_an_identifier_like_key() -> None:
    masked = mask_execution_json(document(), ["e"])
    assert masked["inputs"] == {"token": MASK} and masked["somethingNew"] == MASK
    assert masked["labels"] == [{"key": MASK + "nv", "value": "d" + MASK + "v"}]
    run = masked["taskRunList"][0]
    assert run["value"] == MASK and run["outputs"] == {"id": MASK, "value": "abc-" + MASK}


def test_no_secret_leaves_the_document_as_it_is() -> None:
    assert mask_execution_json(document(), ["", ""]) == document()
