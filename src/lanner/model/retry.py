"""Retry policies (constant, exponential, random) and the decision of when to try again.

The executor owns retries (the worker only reports a failed attempt), so this module is pure:
given the policy and the attempts so far, it answers "retry at time T" or "no more retries".
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lanner.model.property import Duration

# Old spelling → Kestra's released name; the meaning of each is unchanged.
OLD_BEHAVIOR_NAMES: dict[str, str] = {"RETRY_FAILED": "RETRY_FAILED_TASK", "NEW_EXECUTION": "CREATE_NEW_EXECUTION"}


class Retry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: Literal["constant", "exponential", "random"]
    interval: Duration | None = None
    maxInterval: Duration | None = None
    minInterval: Duration | None = None
    delayFactor: float | None = None
    maxAttempts: int | None = Field(default=None, ge=1, alias="maxAttempts")
    maxAttempt: int | None = Field(default=None, ge=1)  # Kestra's older spelling, still accepted
    maxDuration: Duration | None = None
    warningOnRetry: bool = False
    behavior: Literal["RETRY_FAILED_TASK", "CREATE_NEW_EXECUTION"] = "RETRY_FAILED_TASK"

    @field_validator("behavior", mode="before")
    @classmethod
    def _old_behavior_names(cls, value: object) -> object:
        """Kestra's first names of the two behaviours (the flow-level retry's pull request, #3392,
        before its release renamed them): same meaning, so flows written then still run."""
        return OLD_BEHAVIOR_NAMES.get(value, value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> Retry:
        if self.type == "constant" and self.interval is None:
            raise ValueError("a constant retry needs `interval` (e.g. PT1S)")
        if self.type == "exponential" and (self.interval is None or self.maxInterval is None):
            raise ValueError("an exponential retry needs `interval` and `maxInterval`")
        if self.type == "random" and (self.minInterval is None or self.maxInterval is None):
            raise ValueError("a random retry needs `minInterval` and `maxInterval`")
        if self.maxAttempts is None and self.maxAttempt is None and self.maxDuration is None:
            raise ValueError("a retry needs `maxAttempts` or `maxDuration`, or it would never stop")
        return self

    @property
    def max_attempts(self) -> int | None:
        return self.maxAttempts if self.maxAttempts is not None else self.maxAttempt

    def next_retry(
        self, attempts: int, first_start: dt.datetime, last_end: dt.datetime
    ) -> dt.datetime | None:
        """When to start attempt `attempts + 1`, or None when the policy is exhausted.

        `attempts` counts the attempts already made, the first run included (maxAttempts 3 is
        one run and two retries, as in Kestra).
        """
        limit = self.max_attempts
        if limit is not None and attempts >= limit:
            return None
        delay = self._delay(attempts)
        due = last_end + delay
        if isinstance(self.maxDuration, dt.timedelta) and due > first_start + self.maxDuration:
            return None
        return due

    def _delay(self, attempts: int) -> dt.timedelta:
        zero = dt.timedelta(0)
        interval = self.interval if isinstance(self.interval, dt.timedelta) else zero
        if self.type == "constant":
            return interval
        if self.type == "exponential":
            factor = int(self.delayFactor or 2)
            delay = interval * (factor ** max(attempts - 1, 0))
            cap = self.maxInterval if isinstance(self.maxInterval, dt.timedelta) else delay
            return min(delay, cap)
        low = self.minInterval if isinstance(self.minInterval, dt.timedelta) else zero
        high = self.maxInterval if isinstance(self.maxInterval, dt.timedelta) else low
        span = (high - low).total_seconds()
        return low + dt.timedelta(seconds=random.uniform(0, max(span, 0)))
