"""`…trigger.Toggle` in `lanner server local`: the running scheduler holds the triggers' state,
so the toggle goes through it and the triggers list shows it at once."""

from __future__ import annotations

from tests.integration.server.harness import Server


def _disabled(server: Server) -> bool:
    found = server.client.get("/triggers/search", params={"flowId": "scheduled"}).json()["results"]
    return bool(found[0]["triggerContext"]["disabled"])


def test_toggle_disables_and_enables_another_flow_s_trigger_through_the_scheduler(server: Server) -> None:
    server.deploy("""id: scheduled
namespace: company.toggle
tasks:
  - {id: t, type: io.kestra.plugin.core.log.Log, message: tick}
triggers:
  - id: yearly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 0 1 1 *"
""")
    server.deploy("""id: switcher
namespace: company.toggle
inputs:
  - {id: enabled, type: BOOLEAN}
tasks:
  - id: toggle
    type: io.kestra.plugin.core.trigger.Toggle
    flowId: scheduled
    trigger: yearly
    enabled: "{{ inputs.enabled }}"
""")
    assert _disabled(server) is False
    off = server.wait_state(server.run("company.toggle", "switcher", {"enabled": "false"})["id"])
    assert off["state"]["current"] == "SUCCESS"
    assert _disabled(server) is True
    on = server.wait_state(server.run("company.toggle", "switcher", {"enabled": "true"})["id"])
    assert on["state"]["current"] == "SUCCESS"
    assert _disabled(server) is False


def test_toggle_of_a_trigger_the_flow_does_not_declare_fails_naming_the_flow_s_triggers(server: Server) -> None:
    server.deploy("""id: no_such_trigger
namespace: company.toggle
tasks:
  - id: toggle
    type: io.kestra.core.tasks.trigger.Toggle
    trigger: nope
""")
    exe = server.wait_state(server.run("company.toggle", "no_such_trigger")["id"])
    logs = server.client.get(f"/logs/{exe['id']}").json()
    messages = [e["message"] for e in (logs if isinstance(logs, list) else logs.get("results", []))]
    assert exe["state"]["current"] == "FAILED"
    assert any("Unable to find trigger nope for the flow company.toggle.no_such_trigger" in m
               and "its triggers: none" in m for m in messages)
