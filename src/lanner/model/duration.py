"""ISO-8601 durations (`PT1S`, `P1DT2H`), the way Kestra flows write every duration."""

from __future__ import annotations

import datetime as dt
import re

from lanner.errors import LannerError

_ISO = re.compile(
    r"^(?P<sign>-)?P(?:(?P<w>\d+(?:[.,]\d+)?)W)?(?:(?P<d>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:[.,]\d+)?)H)?(?:(?P<m>\d+(?:[.,]\d+)?)M)?(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?$",
    re.IGNORECASE,
)


def parse_duration(value: object) -> dt.timedelta:
    """A timedelta from an ISO-8601 duration, a number of seconds, or a timedelta."""
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.timedelta(seconds=value)
    if isinstance(value, str):
        m = _ISO.match(value.strip())
        if m and any(m.group(k) for k in "wdhms"):
            def num(key: str) -> float:
                g = m.group(key)
                return float(g.replace(",", ".")) if g else 0.0

            d = dt.timedelta(
                weeks=num("w"), days=num("d"), hours=num("h"), minutes=num("m"), seconds=num("s")
            )
            return -d if m.group("sign") else d
    raise LannerError(
        f"`{value}` is not a duration",
        hint="write an ISO-8601 duration such as PT1S, PT5M, PT1H30M or P1D",
    )


def format_duration(d: dt.timedelta) -> str:
    """The ISO-8601 form Kestra prints (`PT1.5S`, `PT2M`)."""
    total = d.total_seconds()
    sign = "-" if total < 0 else ""
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    out = f"{sign}PT"
    if hours:
        out += f"{int(hours)}H"
    if minutes:
        out += f"{int(minutes)}M"
    if seconds or out.endswith("T"):
        out += (f"{seconds:.3f}".rstrip("0").rstrip(".")) + "S"
    return out


def human(d: dt.timedelta) -> str:
    """Short human form for the live view: `12ms`, `1.20s`, `2m03s`."""
    s = d.total_seconds()
    if s < 1:
        return f"{s * 1000:.0f}ms"
    if s < 60:
        return f"{s:.2f}s"
    m, s = divmod(int(s), 60)
    return f"{m}m{s:02d}s"
