"""Schedule and Webhook trigger `conditions` through a real server: a schedule passes over the
dates its conditions reject, and a webhook call they reject starts nothing and is answered 204."""

from __future__ import annotations

import datetime as dt

from tests.integration.server.harness import Server, wait_for

LOG = "io.kestra.plugin.core.log.Log"


def _every_second(flow_id: str, conditions: str = "") -> str:
    return f"""id: {flow_id}
namespace: company.cond
tasks:
  - {{id: t, type: {LOG}, message: "{{{{ trigger.date }}}}"}}
triggers:
  - id: every_second
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
    timezone: Europe/Paris
{conditions}"""


def test_a_schedule_fires_only_on_dates_its_conditions_accept(server: Server) -> None:
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    server.deploy(_every_second("accepted", f"""    conditions:
      - type: io.kestra.plugin.core.condition.DateTimeBetween
        after: "{yesterday}"
      - type: io.kestra.plugin.core.condition.Not
        conditions:
          - type: io.kestra.plugin.core.condition.TimeBetween
            before: "00:00:00+14:00"
"""))
    server.deploy(_every_second("rejected", f"""    conditions:
      - type: io.kestra.plugin.core.condition.DateTimeBetween
        date: "{{{{ trigger.date }}}}"
        before: "{yesterday}"
"""))
    server.deploy(_every_second("unreadable", """    conditions:
      - type: io.kestra.plugin.core.condition.DayWeek
        dayOfWeek: "{{ 'Caturday' }}"
"""))
    # Flows are scheduled in (namespace, id) order within a tick: a fire of `zz_metronome` dated
    # after some moment proves a whole tick of the others began after that moment.
    server.deploy(_every_second("zz_metronome"))
    fired = wait_for(lambda: server.executions(flowId="accepted"), timeout=10)
    exe = server.wait_state(fired[-1]["id"])
    assert exe["state"]["current"] == "SUCCESS"
    since = dt.datetime.now(dt.UTC)
    later = since + dt.timedelta(seconds=1)
    wait_for(lambda: [e for e in server.executions(flowId="zz_metronome")
                       if dt.datetime.fromisoformat(e["trigger"]["variables"]["date"]) > later])
    assert server.executions(flowId="rejected") == []
    assert server.executions(flowId="unreadable") == []
    contexts = {t["triggerContext"]["flowId"]: t["triggerContext"]
                for t in server.client.get("/triggers/search", params={"namespace": "company.cond"}).json()["results"]}
    assert dt.datetime.fromisoformat(contexts["rejected"]["nextExecutionDate"]) > since  # dates passed over
    assert "`Caturday` is not a day of the week" in contexts["unreadable"]["lastError"]
    assert contexts["accepted"]["lastError"] is None


def test_a_webhook_call_its_conditions_reject_starts_nothing_and_is_answered_204(server: Server) -> None:
    server.deploy(f"""id: guarded
namespace: company.cond
tasks:
  - {{id: t, type: {LOG}, message: "{{{{ trigger.body.action }}}}"}}
triggers:
  - id: web
    type: io.kestra.plugin.core.trigger.Webhook
    key: guardedKey1
    conditions:
      - type: io.kestra.plugin.core.condition.Expression
        expression: "{{{{ trigger.body.action == 'opened' }}}}"
      - type: io.kestra.plugin.core.condition.Not
        conditions:
          - type: io.kestra.plugin.core.condition.Weekend
            date: "{{{{ trigger.body.at ?? '2025-01-06T10:00:00Z' }}}}"
""")
    url = "/executions/webhook/company.cond/guarded/guardedKey1"
    rejected = server.client.post(url, json={"action": "closed"})
    assert rejected.status_code == 204 and rejected.content == b""
    on_saturday = server.client.post(url, json={"action": "opened", "at": "2025-01-04T10:00:00Z"})
    assert on_saturday.status_code == 204
    accepted = server.client.post(url, json={"action": "opened"})
    assert accepted.status_code == 200, accepted.text
    assert server.wait_state(accepted.json()["id"])["state"]["current"] == "SUCCESS"
    assert [e["id"] for e in server.executions(flowId="guarded")] == [accepted.json()["id"]]


def test_a_flow_trigger_with_not_skips_the_executions_it_wraps(server: Server) -> None:
    server.deploy("""id: up
namespace: company.cond
inputs:
  - {id: fail, type: BOOLEAN, defaults: false}
tasks:
  - id: maybe
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ inputs.fail }}"
""")
    server.deploy(f"""id: unless_failed
namespace: company.cond
tasks:
  - {{id: t, type: {LOG}, message: "{{{{ trigger.state }}}}"}}
triggers:
  - id: after_up
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: company.cond
        flowId: up
      - type: io.kestra.plugin.core.condition.Not
        conditions:
          - type: io.kestra.plugin.core.condition.ExecutionStatus
            in: [FAILED]
""")
    failed = server.run("company.cond", "up", {"fail": "true"})
    assert server.wait_state(failed["id"])["state"]["current"] == "FAILED"
    passed = server.run("company.cond", "up", {"fail": "false"})
    # the scheduler handles execution events in order: once the second run has fired, the first was seen
    fired = wait_for(lambda: server.executions(flowId="unless_failed"))
    assert [e["trigger"]["variables"]["executionId"] for e in fired] == [passed["id"]]
