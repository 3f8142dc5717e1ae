"""ksuid(), nanoId(), randomPort(), encrypt()/decrypt(), env(), fileURI(), loopOutputs(),
outputFromIteration() and the old names jsonDecode()/ionDecode()/randomNumber(), from what
Kestra's documentation says each returns."""

from __future__ import annotations

import base64
import re

import pytest

from lanner.expr import ExpressionError, render, render_value_typed

KEY = base64.b64encode(b"k" * 32).decode()


def _ksuid_seconds(ksuid: str) -> int:
    """The seconds since KSUID's epoch that a KSUID's top 32 bits hold."""
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    value = 0
    for ch in ksuid:
        value = value * 62 + digits.index(ch)
    return value >> 128


def test_ksuids_are_27_base62_characters_that_carry_their_second_and_differ() -> None:
    first, second = render("{{ ksuid() }}", {}), render("{{ ksuid() }}", {})
    assert re.fullmatch(r"[0-9A-Za-z]{27}", first) and first != second
    assert 0 < _ksuid_seconds(first) <= _ksuid_seconds(second)  # later ids sort after earlier ones


def test_nano_ids_have_the_asked_length_and_alphabet() -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]{21}", render("{{ nanoId() }}", {}))
    assert re.fullmatch(r"[ab]{5}", render("{{ nanoId(5, 'ab') }}", {}))
    with pytest.raises(ExpressionError, match="alphabet is empty"):
        render("{{ nanoId(5, '') }}", {})


def test_random_port_gives_a_port_number() -> None:
    assert 0 < render_value_typed("{{ randomPort() }}", {}) < 65536


def test_encrypt_then_decrypt_gives_the_text_back_in_kestras_layout() -> None:
    secret = render("{{ encrypt(key, 'café au lait') }}", {"key": KEY})
    raw = base64.b64decode(secret)
    assert len(raw) == 12 + len("café au lait".encode()) + 16  # nonce, ciphertext, tag
    assert render("{{ decrypt(key, value) }}", {"key": KEY, "value": secret}) == "café au lait"
    assert secret != render("{{ encrypt(key, 'café au lait') }}", {"key": KEY})  # a new nonce each call


@pytest.mark.parametrize(("template", "message"), [
    ("{{ encrypt('only-one') }}", "expects two arguments, 'key' and 'plaintext'"),
    ("{{ decrypt(key) }}", "expects two arguments, 'key' and 'encrypted'"),
    ("{{ encrypt('c2hvcnQ=', 'x') }}", "AES needs 16, 24 or 32"),
    ("{{ encrypt('not base64!', 'x') }}", "not base64"),
    ("{{ decrypt(key, encrypt(other, 'x')) }}", "cannot be decrypted with this key"),
])
def test_encrypt_and_decrypt_refuse_bad_keys_and_values(template: str, message: str) -> None:
    other = base64.b64encode(b"o" * 16).decode()
    with pytest.raises(ExpressionError, match=message) as err:
        render(template, {"key": KEY, "other": other})
    assert err.value.hint


def test_env_reads_the_envs_variable_with_a_default_for_absent_or_empty() -> None:
    v = {"envs": {"region": "eu-west-1", "blank": ""}}
    assert render("{{ env('region') }}", v) == "eu-west-1"
    assert render("{{ env('blank', 'none') }}/{{ env('missing', 'none') }}/[{{ env('missing') }}]", v) == "none/none/[]"
    with pytest.raises(ExpressionError, match="the argument `name` is missing"):
        render("{{ env() }}", v)


def test_file_uri_names_a_namespace_file_of_the_flows_namespace() -> None:
    v = {"flow": {"namespace": "company.team", "id": "f"}}
    assert render("{{ fileURI('sql/daily.sql') }}", v) == "kestra:///company/team/_files/sql/daily.sql"


def test_loop_outputs_keeps_one_entry_per_iteration() -> None:
    runs = [{"outputs": {"uri": "a"}}, {"outputs": {}}, "odd", {"outputs": {"uri": "d"}}]
    assert render("{{ loopOutputs(runs, 'uri') }}", {"runs": runs}) == '["a",null,null,"d"]'
    with pytest.raises(ExpressionError, match="'outputs' must be a list"):
        render("{{ loopOutputs('x', 'uri') }}", {})


def test_output_from_iteration_reads_a_list_or_a_map_by_number() -> None:
    as_list, as_map = [{"n": 1}, {"n": 2}], {"0": {"n": 1}, "1": {"n": 2}}
    assert render("{{ outputFromIteration(o, 1).n }}", {"o": as_list}) == "2"
    assert render("{{ outputFromIteration(o, '0').n }}", {"o": as_map}) == "1"
    with pytest.raises(ExpressionError, match="out of bounds"):
        render("{{ outputFromIteration(o, 2) }}", {"o": as_list})
    with pytest.raises(ExpressionError, match="not found in outputs"):
        render("{{ outputFromIteration(o, 2) }}", {"o": as_map})


def test_old_names_decode_as_the_new_ones() -> None:
    assert render("{{ jsonDecode('{\"a\": [1]}').a[0] }}", {}) == "1"
    assert render("{{ ionDecode('{a: 2}').a }}", {}) == "2"
    assert render("{{ randomNumber(4, 4) }}", {}) == "4"
