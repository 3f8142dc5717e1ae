"""Numbers from text (`number` filter) and Java `DecimalFormat` patterns (`numberFormat` filter).

`number` follows Apache Commons' `NumberUtils` as Kestra calls it: auto-detection picks an
integer when the text has no point or exponent (Integer, Long or BigInteger by size), else a
decimal (Float when 32 bits print it the same, else Double when exact, else BigDecimal);
`0x1F` is hexadecimal and Java's type suffixes (`10L`, `1.5f`, `2d`) are accepted. The Java
class is kept for `className` (see java_numbers.py). `numberFormat` implements the parts
of `DecimalFormat` that flows use — `#`/`0` digits, grouping, fraction bounds, percent and
per-mille, quoted literals, negative sub-patterns and scientific `E0` — with Java's
half-even rounding on the exact decimal value. Python's `format()` speaks neither language.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext

from lanner.expr.errors import ExpressionError
from lanner.expr.java_numbers import JavaBigInteger, JavaFloat, JavaInteger, float_is_exact_enough

_INT = re.compile(r"[+-]?\d+")
_DEC = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_HEX = re.compile(r"([+-]?)(?:0[xX]|#)([0-9a-fA-F]+)")
_LIMITS = {"INT": 2**31, "LONG": 2**63}
TYPES = ("INT", "FLOAT", "LONG", "DOUBLE", "BIGDECIMAL", "BIGINTEGER")


def _not_a_number(text: str, kind: str) -> ExpressionError:
    return ExpressionError(f"'{text}' is not a valid {kind}",
                           hint="the text must be a number such as 42, -3.5 or 1e3 (no spaces or thousands separators)")


def _integer(text: str, kind: str) -> int:
    hexa = _HEX.fullmatch(text)
    if hexa:
        value = int(hexa[2], 16) * (-1 if hexa[1] == "-" else 1)
    elif _INT.fullmatch(text):
        value = int(text)
    else:
        raise _not_a_number(text, kind.lower() if kind != "BIGINTEGER" else "integer")
    limit = _LIMITS.get(kind)
    if limit is not None and not -limit <= value < limit:
        raise ExpressionError(f"'{text}' is too large for {kind}", hint="use number('BIGINTEGER') or no type")
    return value


def _decimal(text: str, kind: str) -> Decimal:
    if not _DEC.fullmatch(text):
        raise _not_a_number(text, "decimal number")
    return Decimal(text)


def parse_number(text: str, kind: str | None) -> int | float | Decimal:
    """`"12"` → 12, `"12.3"` → 12.3, with an explicit Kestra type when `kind` is given."""
    text = text.strip() if kind is None else text
    if kind == "INT":
        return JavaInteger(_integer(text, kind))
    if kind == "LONG":
        return _integer(text, kind)
    if kind == "BIGINTEGER":
        return JavaBigInteger(_integer(text, kind))
    if kind in ("FLOAT", "DOUBLE"):
        body = text[:-1] if text[-1:] in "fFdD" and len(text) > 1 else text
        value = float(body) if body in ("NaN", "Infinity", "-Infinity", "+Infinity") else float(_decimal(body, kind))
        return JavaFloat(value) if kind == "FLOAT" else value
    if kind == "BIGDECIMAL":
        return _decimal(text, kind)
    if kind is not None:
        raise ExpressionError(f"unknown number type '{kind}'", hint="use one of " + ", ".join(TYPES))
    if not text:
        raise _not_a_number(text, "number")
    suffix = text[-1]
    if suffix in "lL" and len(text) > 1:
        return _sized(_integer(text[:-1], "BIGINTEGER"), smallest=64)
    hexa = _HEX.fullmatch(text)
    if suffix in "fFdD" and len(text) > 1 and not hexa:
        value = float(_decimal(text[:-1], "DOUBLE"))
        return JavaFloat(value) if suffix in "fF" and float_is_exact_enough(value) else value
    if hexa:  # the size comes from the number of hex digits, as in Commons Lang
        digits = hexa[2].lstrip("0")
        bits = 32 if len(digits) < 8 or (len(digits) == 8 and digits[0] <= "7") else \
            64 if len(digits) < 16 or (len(digits) == 16 and digits[0] <= "7") else 128
        return _sized(_integer(text, "BIGINTEGER"), smallest=bits)
    if _INT.fullmatch(text):
        return _sized(_integer(text, "BIGINTEGER"), smallest=32)
    exact = _decimal(text, "number")
    value = float(exact)
    if not math.isfinite(value) or (value == 0 and exact != 0):
        return exact
    if float_is_exact_enough(value):
        return JavaFloat(value)
    return value if exact == Decimal(repr(value)) else exact


def _sized(value: int, smallest: int) -> int:
    """Integer, Long or BigInteger: the smallest of them, from `smallest` bits up, that holds it."""
    if smallest <= 32 and -(2**31) <= value < 2**31:
        return JavaInteger(value)
    if smallest <= 64 and -(2**63) <= value < 2**63:
        return value
    return JavaBigInteger(value)


# ---------------------------------------------------------------- DecimalFormat

@dataclasses.dataclass(frozen=True, slots=True)
class _Part:
    prefix: str
    suffix: str


@dataclasses.dataclass(frozen=True, slots=True)
class DecimalPattern:
    positive: _Part
    negative: _Part | None
    min_int: int
    min_frac: int
    max_frac: int
    grouping: int  # 0 = no grouping
    multiplier: int
    exponent_digits: int  # 0 = not scientific
    decimal_always: bool


def _bad(pattern: str, why: str) -> ExpressionError:
    return ExpressionError(f"invalid number pattern '{pattern}': {why}",
                           hint="use java.text.DecimalFormat syntax, e.g. '#,##0.00' or '0.###'")


def _affix(text: str, pattern: str) -> tuple[str, int]:
    """Unquote a prefix or suffix; return it with the multiplier its % or ‰ implies."""
    out, multiplier, i = [], 1, 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise _bad(pattern, "a quote (') is not closed")
            out.append(text[i + 1:end] if end > i + 1 else "'")
            i = end + 1
            continue
        if ch == "%":
            multiplier = 100
        elif ch == "\u2030":
            multiplier = 1000
        elif ch == "\u00a4":
            raise _bad(pattern, "currency signs are not supported")
        out.append(ch)
        i += 1
    return "".join(out), multiplier


_BODY = re.compile(r"[#0,.E]+")


def _split(sub: str, pattern: str) -> tuple[str, str, str]:
    """prefix, number body, suffix of one sub-pattern (quoted text never counts as body)."""
    i, in_quote, start, end = 0, False, -1, -1
    while i < len(sub):
        ch = sub[i]
        if ch == "'":
            in_quote = not in_quote
        elif not in_quote and ch in "#0,." and start < 0:
            start = i
        elif not in_quote and start >= 0 and end < 0 and ch not in "#0,.E":
            end = i
        i += 1
    if start < 0:
        raise _bad(pattern, "it has no digit (# or 0)")
    end = len(sub) if end < 0 else end
    return sub[:start], sub[start:end], sub[end:]


@functools.lru_cache(maxsize=256)
def compile_decimal(pattern: str) -> DecimalPattern:
    parts = pattern.split(";")
    if len(parts) > 2:
        raise _bad(pattern, "only one ';' may separate the negative pattern")
    prefix, body, suffix = _split(parts[0], pattern)
    mantissa, _, exp = body.partition("E")
    if exp and (set(exp) != {"0"}):
        raise _bad(pattern, "the exponent must be written E0, E00, …")
    integer, dot, fraction = mantissa.partition(".")
    if "." in fraction or "," in fraction or "E" in mantissa:
        raise _bad(pattern, "misplaced '.' or ','")
    digits = integer.replace(",", "")
    if not re.fullmatch(r"#*0*", digits) or not re.fullmatch(r"0*#*", fraction):
        raise _bad(pattern, "'#' may not follow '0' in the integer part, nor precede '0' in the fraction")
    if integer.endswith(","):
        raise _bad(pattern, "a ',' may not end the integer part")
    pre, mul_pre = _affix(prefix, pattern)
    suf, mul_suf = _affix(suffix, pattern)
    negative = None
    if len(parts) == 2:
        npre, nbody, nsuf = _split(parts[1], pattern) if re.search(r"[#0]", parts[1]) else (parts[1], "", "")
        negative = _Part(_affix(npre, pattern)[0], _affix(nsuf, pattern)[0])
    grouping = len(integer) - integer.rfind(",") - 1 if "," in integer else 0
    return DecimalPattern(
        positive=_Part(pre, suf), negative=negative, min_int=digits.count("0"),
        min_frac=len(fraction) - len(fraction.lstrip("0")), max_frac=len(fraction),
        grouping=grouping, multiplier=max(mul_pre, mul_suf), exponent_digits=len(exp),
        decimal_always=bool(dot) and not fraction)


def _group(digits: str, size: int) -> str:
    if size <= 0 or len(digits) <= size:
        return digits
    head = len(digits) % size or size
    return ",".join([digits[:head]] + [digits[i:i + size] for i in range(head, len(digits), size)])


def _fixed(value: Decimal, p: DecimalPattern) -> str:
    rounded = value.quantize(Decimal(1).scaleb(-p.max_frac), rounding=ROUND_HALF_EVEN)
    text = format(rounded, "f")
    integer, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(p.min_frac, "0")
    integer = integer.lstrip("0")
    integer = integer.rjust(p.min_int, "0")
    if not integer and not fraction:
        integer = "0"
    out = _group(integer, p.grouping)
    return out + ("." + fraction if fraction or p.decimal_always else "")


def _scientific(value: Decimal, p: DecimalPattern) -> str:
    int_digits = max(p.min_int, 1)
    if value == 0:
        exponent = 0
    else:
        exponent = value.adjusted() - (int_digits - 1)
    mantissa = value.scaleb(-exponent)
    body = _fixed(mantissa, dataclasses.replace(p, grouping=0))
    if body.split(".")[0] == "1" + "0" * int_digits:  # rounding carried into a new digit
        exponent += 1
        body = _fixed(value.scaleb(-exponent), dataclasses.replace(p, grouping=0))
    sign = "-" if exponent < 0 else ""
    return f"{body}E{sign}{abs(exponent):0{p.exponent_digits}d}"


def format_decimal(number: int | float | Decimal, pattern: str) -> str:
    """Java `new DecimalFormat(pattern).format(number)` for the English locale."""
    p = compile_decimal(pattern)
    if isinstance(number, Decimal) and not number.is_finite():
        number = float(number)
    if isinstance(number, float) and math.isnan(number):
        return "NaN"
    negative = number < 0 or (isinstance(number, float) and math.copysign(1.0, number) < 0)
    part = p.positive if not negative else p.negative or _Part("-" + p.positive.prefix, p.positive.suffix)
    if isinstance(number, float) and math.isinf(number):
        return f"{part.prefix}\u221e{part.suffix}"
    with localcontext() as ctx:
        ctx.prec = 1000
        try:
            value = abs(Decimal(number)) * p.multiplier
            body = _scientific(value, p) if p.exponent_digits else _fixed(value, p)
        except InvalidOperation:
            raise ExpressionError(
                f"the number {number} is too large to format",
                hint="use a pattern with fewer digits or a scientific pattern such as '0.###E0'") from None
    return f"{part.prefix}{body}{part.suffix}"
