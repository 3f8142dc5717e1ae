"""Schedule, Flow and Webhook triggers through a real server."""

from __future__ import annotations

import datetime as dt

from tests.integration.server.harness import Server, by_task, wait_for

LOG = "io.kestra.plugin.core.log.Log"
RETURN = "io.kestra.plugin.core.debug.Return"




def _deploy_event_barrier(server: Server) -> None:
    """A `probe` flow and a `witness` flow that a Flow trigger starts after each probe run.

    The scheduler handles execution events one at a time, in order; so once the witness has
    fired for a probe run started after some upstream execution ended, every trigger has been
    evaluated against that upstream execution. "Nothing fired" can then be asserted at once.
    The server is shared by this module's tests, so the pair is deployed once.
    """
    if server.client.get("/flows/company.barrier/witness").status_code == 200:
        return
    server.deploy(f"id: probe\nnamespace: company.barrier\ntasks:\n  - {{id: t, type: {LOG}, message: p}}\n")
    server.deploy(f"""id: witness
namespace: company.barrier
tasks:
  - {{id: t, type: {LOG}, message: w}}
triggers:
  - id: after_probe
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - {{type: io.kestra.plugin.core.condition.ExecutionFlow, namespace: company.barrier, flowId: probe}}
""")


def _scheduler_has_seen_every_ended_execution(server: Server) -> None:
    """Run the probe and wait for its witness: proof that earlier execution events were handled."""
    probe = server.run("company.barrier", "probe")
    wait_for(lambda: [e for e in server.executions(flowId="witness")
                       if e["trigger"]["variables"]["executionId"] == probe["id"]])


def test_webhook_body_and_headers_reach_templates(server: Server) -> None:
    server.deploy(f"""id: hook
namespace: company.trig
inputs:
  - id: who
    type: STRING
    defaults: nobody
tasks:
  - id: echo
    type: {RETURN}
    format: "{{{{ trigger.body.name }}}} via {{{{ trigger.headers['x-source'][0] }}}} as {{{{ inputs.who }}}}"
triggers:
  - id: web
    type: io.kestra.plugin.core.trigger.Webhook
    key: s3cr3tKey
    inputs:
      who: "{{{{ trigger.body.name }}}}"
""")
    r = server.client.post("/executions/webhook/company.trig/hook/s3cr3tKey", json={"name": "Ada"},
                           headers={"X-Source": "ci"})
    assert r.status_code == 200, r.text
    exe = server.wait_state(r.json()["id"])
    assert by_task(exe)["echo"]["outputs"]["value"] == "Ada via ci as Ada"
    assert exe["trigger"]["id"] == "web" and exe["trigger"]["type"] == "io.kestra.plugin.core.trigger.Webhook"
    wrong = server.client.post("/executions/webhook/company.trig/hook/wrong", json={})
    assert wrong.status_code == 404 and "no enabled Webhook trigger" in wrong.json()["message"]
    assert server.client.get("/executions/webhook/company.trig/nope/s3cr3tKey").status_code == 404


def test_flow_trigger_fires_on_upstream_states_and_filters(server: Server) -> None:
    _deploy_event_barrier(server)
    server.deploy("""id: upstream
namespace: company.trig
inputs:
  - {id: fail, type: BOOLEAN, defaults: false}
tasks:
  - id: maybe
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ inputs.fail }}"
""")
    server.deploy(f"""id: downstream
namespace: company.trig
inputs:
  - {{id: from, type: STRING}}
tasks:
  - id: said
    type: {RETURN}
    format: "after {{{{ trigger.flowId }}}} {{{{ trigger.state }}}} {{{{ inputs.from }}}}"
triggers:
  - id: on_upstream
    type: io.kestra.plugin.core.trigger.Flow
    inputs:
      from: "{{{{ trigger.executionId }}}}"
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: company.trig
        flowId: upstream
      - type: io.kestra.plugin.core.condition.ExecutionStatus
        in: [SUCCESS]
""")
    ok = server.run("company.trig", "upstream", {"fail": "false"})
    found = wait_for(lambda: server.executions(flowId="downstream"))
    exe = server.wait_state(found[0]["id"])
    assert by_task(exe)["said"]["outputs"]["value"] == f"after upstream SUCCESS {ok['id']}"
    assert exe["trigger"]["variables"]["executionId"] == ok["id"]

    failed = server.run("company.trig", "upstream", {"fail": "true"})
    assert failed["state"]["current"] == "FAILED"
    _scheduler_has_seen_every_ended_execution(server)
    assert len(server.executions(flowId="downstream")) == 1  # FAILED is not in the condition


def test_flow_trigger_preconditions_wait_for_every_listed_flow(server: Server) -> None:
    _deploy_event_barrier(server)
    for name in ("pre_a", "pre_b"):
        server.deploy(f"id: {name}\nnamespace: company.pre\ntasks:\n  - {{id: t, type: {LOG}, message: x}}\n")
    server.deploy(f"""id: joined
namespace: company.pre
tasks:
  - {{id: t, type: {LOG}, message: both done}}
triggers:
  - id: both
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: both
      flows:
        - {{namespace: company.pre, flowId: pre_a, states: [SUCCESS]}}
        - {{namespace: company.pre, flowId: pre_b, states: [SUCCESS]}}
""")
    server.run("company.pre", "pre_a")
    server.run("company.pre", "pre_a")
    _scheduler_has_seen_every_ended_execution(server)
    assert server.executions(flowId="joined") == []
    server.run("company.pre", "pre_b")
    wait_for(lambda: server.executions(flowId="joined"))
    _scheduler_has_seen_every_ended_execution(server)
    assert len(server.executions(flowId="joined")) == 1


def test_flow_trigger_multiple_condition_fires_once_every_condition_was_met_in_its_window(server: Server) -> None:
    _deploy_event_barrier(server)
    for name in ("mc_a", "mc_b"):
        server.deploy(f"id: {name}\nnamespace: company.mc\ntasks:\n  - {{id: t, type: {LOG}, message: x}}\n")
    server.deploy(f"""id: joined_mc
namespace: company.mc
tasks:
  - {{id: t, type: {RETURN}, format: "{{{{ trigger.flowId }}}}"}}
triggers:
  - id: both
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionStatusCondition
        in: [SUCCESS]
      - id: multiple
        type: io.kestra.plugin.core.condition.MultipleCondition
        sla:
          window: PT12H
        conditions:
          flow-a: {{type: io.kestra.plugin.core.condition.ExecutionFlowCondition, namespace: company.mc, flowId: mc_a}}
          flow-b: {{type: io.kestra.plugin.core.condition.ExecutionFlowCondition, namespace: company.mc, flowId: mc_b}}
""")
    server.run("company.mc", "mc_a")
    server.run("company.mc", "mc_a")
    _scheduler_has_seen_every_ended_execution(server)
    assert server.executions(flowId="joined_mc") == []
    server.run("company.mc", "mc_b")
    found = wait_for(lambda: server.executions(flowId="joined_mc"))
    exe = server.wait_state(found[0]["id"])
    assert by_task(exe)["t"]["outputs"]["value"] == "mc_b"  # started by the execution that completed the set
    server.run("company.mc", "mc_b")  # the marks started over: flow-a is not met again yet
    _scheduler_has_seen_every_ended_execution(server)
    assert len(server.executions(flowId="joined_mc")) == 1


def test_schedule_fires_with_trigger_date_and_stop_after_disables_it(server: Server) -> None:
    server.deploy(f"""id: ticking
namespace: company.sched
tasks:
  - id: when
    type: {RETURN}
    format: "{{{{ trigger.date }}}}"
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
triggers:
  - id: every_second
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
    timezone: Europe/Paris
    stopAfter: [FAILED]
""")
    # Flows are scheduled in (namespace, id) order within a tick, so `ticking` is looked at
    # before `zz_metronome`: a metronome fire dated after some moment proves a whole tick of
    # `ticking` began after that moment.
    server.deploy(f"""id: zz_metronome
namespace: company.sched
tasks:
  - {{id: t, type: {LOG}, message: tick}}
triggers:
  - id: every_second
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
""")
    first = wait_for(lambda: server.executions(flowId="ticking"), timeout=10)
    exe = server.wait_state(first[-1]["id"])
    assert exe["trigger"]["type"] == "io.kestra.plugin.core.trigger.Schedule"
    assert by_task(exe)["when"]["outputs"]["value"] == exe["trigger"]["variables"]["date"]
    trig = wait_for(lambda: [t for t in server.client.get("/triggers/search", params={"flowId": "ticking"})
                              .json()["results"] if t["triggerContext"]["disabled"]])
    assert trig[0]["triggerContext"]["stoppedBy"]["state"] == "FAILED"
    count = len(server.executions(flowId="ticking"))
    seen_disabled = dt.datetime.now(dt.UTC)
    wait_for(lambda: [e for e in server.executions(flowId="zz_metronome")
                       if dt.datetime.fromisoformat(e["trigger"]["variables"]["date"]) > seen_disabled])
    assert len(server.executions(flowId="ticking")) == count  # disabled: no more fires
    r = server.client.put("/triggers", json={"namespace": "company.sched", "flowId": "ticking",
                                             "triggerId": "every_second", "disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] is True
    missing = server.client.put("/triggers", json={"namespace": "company.sched", "flowId": "ticking",
                                                   "triggerId": "nope", "disabled": False})
    assert missing.status_code == 404
