"""A flow's `sla` entries: what the engine checks about a whole execution (Kestra's flow SLAs).

`MAX_DURATION` is violated when the execution is still running `duration` after it started (a
timer armed at the start); `EXECUTION_ASSERTION` when its `assert` expression is not truthy as the
execution ends. On a violation the execution gets the SLA's `labels`, and its `behavior` says
what else happens: FAIL or CANCEL end it in that state (cleanup still runs), NONE only logs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lanner.model.duration import parse_duration
from lanner.model.labels import as_label_map


class Sla(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    id: str = Field(min_length=1)
    type: Literal["MAX_DURATION", "EXECUTION_ASSERTION"]
    behavior: Literal["FAIL", "CANCEL", "NONE"]
    labels: dict[str, str] = Field(default_factory=dict)
    duration: str | None = None
    assert_: str | None = Field(default=None, alias="assert")

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        return as_label_map(value)

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if value is None:
            return None
        if parse_duration(value) <= dt.timedelta(0):
            raise ValueError(f"the duration `{value}` must be positive")
        return str(value)

    @model_validator(mode="after")
    def _fits_type(self) -> Sla:
        """Each type reads one property; the other one would be silently ignored, so it is refused."""
        if self.type == "MAX_DURATION":
            if self.duration is None:
                raise ValueError("a MAX_DURATION SLA needs `duration` (an ISO-8601 duration such as PT1H)")
            if self.assert_ is not None:
                raise ValueError("`assert` belongs to EXECUTION_ASSERTION SLAs; a MAX_DURATION SLA reads `duration`")
        else:
            if not self.assert_:
                raise ValueError("an EXECUTION_ASSERTION SLA needs `assert` (an expression such as "
                                 "\"{{ outputs.count.value > 0 }}\")")
            if self.duration is not None:
                raise ValueError("`duration` belongs to MAX_DURATION SLAs; an EXECUTION_ASSERTION SLA reads `assert`")
        return self

    @property
    def max_duration(self) -> dt.timedelta:
        assert self.duration is not None, "only MAX_DURATION SLAs have a duration"
        return parse_duration(self.duration)
