"""Incoming-webhook notifications: what Kestra's `errors` and `afterExecution` examples send.

Each is one JSON POST to a URL the chat service gave, so they share the HTTP plugin's client
(cancellable by a kill or a timeout, errors in one sentence with the URL's secrets masked).
`SlackExecution` and friends build a message about the execution from the run context; the
`…IncomingWebhook` tasks send the `payload` the flow wrote (or `messageText` for Slack).
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from lanner.plugins.api import Output, RunContext, RunnableTask, TaskFailure
from lanner.plugins.http.client import exchange, mask, read_body
from lanner.plugins.http.options import HttpOptions, resolve
from lanner.plugins.properties import render_str

_SECRET_PATH = ("hooks.slack.com", "discord.com", "webhook.office.com", "chat.googleapis.com")


def _shown(url: str) -> str:
    """Webhook URLs carry their secret in the path: show the host only."""
    parts = urllib.parse.urlsplit(url)
    if any(parts.netloc.endswith(h) for h in _SECRET_PATH):
        return f"{parts.scheme}://{parts.netloc}/…"
    return mask(url)


class IncomingWebhook(RunnableTask):
    """POST a JSON payload to an incoming webhook; a status of 400 or more fails the task."""

    url: str
    payload: str | dict[str, Any] | None = None
    options: HttpOptions | None = None

    def message(self, ctx: RunContext) -> Any:
        """The JSON document to send (the flow's `payload`, rendered)."""
        if self.payload is None:
            raise TaskFailure("`payload` is required: the JSON document to send")
        payload = ctx.render(self.payload)
        if isinstance(payload, str):
            try:
                return json.loads(payload)
            except json.JSONDecodeError as exc:
                raise TaskFailure(f"`payload` is not JSON: {exc.msg} at character {exc.pos}") from None
        return payload

    def run(self, ctx: RunContext) -> Output:
        url = (render_str(ctx, self.url) or "").strip()
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise TaskFailure(f"Invalid `url` `{_shown(url)}`: expected the webhook's https:// URL")
        body = json.dumps(self.message(ctx), ensure_ascii=False).encode("utf-8")
        settings = resolve(ctx, self.options, None, None)

        def build(client: Any) -> Any:
            return client.build_request("POST", url, content=body,
                                        headers={"Content-Type": "application/json; charset=UTF-8"})

        def handle(response: Any) -> tuple[int, bytes]:
            return response.status_code, read_body(ctx, response, limit=4096)

        code, answer = exchange(ctx, settings, build, handle)
        if code >= 400:
            raise TaskFailure(f"The webhook at {_shown(url)} answered HTTP {code}: "
                              f"{answer.decode('utf-8', 'replace')[:200]}")
        ctx.logger.info(f"Notification sent to {_shown(url)} (HTTP {code})")
        return Output({})


class SlackIncomingWebhook(IncomingWebhook):
    messageText: str | None = None  # newer Slack plugin: a plain text message instead of a payload

    def message(self, ctx: RunContext) -> Any:
        if self.messageText is not None:
            return {"text": str(ctx.render(self.messageText))}
        return super().message(ctx)


class TeamsIncomingWebhook(IncomingWebhook):
    pass


class DiscordIncomingWebhook(IncomingWebhook):
    pass


class GoogleChatIncomingWebhook(IncomingWebhook):
    pass


class ExecutionNotification(IncomingWebhook):
    """A message about this execution (flow, id, state, a custom line), as Kestra's `…Execution` tasks."""

    executionId: str | None = None
    customMessage: str | None = None
    customFields: dict[str, Any] | None = None
    channel: str | None = None
    username: str | None = None
    iconUrl: str | None = None
    iconEmoji: str | None = None
    templateRenderMap: dict[str, Any] | None = None

    def text(self, ctx: RunContext) -> str:
        v = ctx.variables
        flow, execution = v.get("flow", {}), v.get("execution", {})
        execution_id = str(ctx.render(self.executionId)) if self.executionId else execution.get("id", "")
        lines = [f"{flow.get('namespace')}.{flow.get('id')} execution {execution_id}: {execution.get('state')}"]
        if self.customMessage:
            lines.append(str(ctx.render(self.customMessage)))
        for key, value in (ctx.render(self.customFields) or {}).items():
            lines.append(f"{key}: {value}")
        return "\n".join(lines)

    def message(self, ctx: RunContext) -> Any:
        if self.payload is not None:
            return super().message(ctx)
        out: dict[str, Any] = {"text": self.text(ctx)}
        for key in ("channel", "username"):
            if getattr(self, key):
                out[key] = str(ctx.render(getattr(self, key)))
        if self.iconUrl:
            out["icon_url"] = str(ctx.render(self.iconUrl))
        if self.iconEmoji:
            out["icon_emoji"] = str(ctx.render(self.iconEmoji))
        return out


class SlackExecution(ExecutionNotification):
    pass


class TeamsExecution(ExecutionNotification):
    pass


class DiscordExecution(ExecutionNotification):
    def message(self, ctx: RunContext) -> Any:
        if self.payload is not None:
            return super().message(ctx)
        out: dict[str, Any] = {"content": self.text(ctx)}
        if self.username:
            out["username"] = str(ctx.render(self.username))
        return out


class GoogleChatExecution(ExecutionNotification):
    pass
