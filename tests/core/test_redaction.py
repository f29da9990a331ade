"""Redaction finds a secret in every spelling text gives it: raw, JSON- or repr-escaped, percent-encoded, mixed."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from capgate.core.redaction import REDACTED, Redactor

# derandomize, no database: the same examples on every run and every machine, so that CI is stable
PROPERTY = settings(max_examples=300, deadline=None, derandomize=True, database=None)
KEY = 'tr_dev_can"ary/CAN\\ARY;canary01 é😀'

secrets = st.text(min_size=4, max_size=24).filter(lambda text: text.strip() == text and len(set(text)) > 1)
surroundings = st.text(max_size=20)


def redactor(*values: str) -> Redactor:
    redacting = Redactor()
    redacting.register(values)
    return redacting


def _spelled(character: str, how: int) -> str:
    """One character as a writer may spell it: raw, \\uXXXX, \\xXX, percent-encoded, \\-escaped."""
    code = ord(character)
    if how == 1:
        return json.dumps(character)[1:-1] if code > 0xFFFF else f"\\u{code:04X}"
    if how == 2 and code < 0x100:
        return f"\\x{code:02x}"
    if how == 3:
        return quote(character, safe="")
    if how == 4:
        return "\\" + character
    return character


@PROPERTY
@given(secret=secrets, before=surroundings, after=surroundings, data=st.data())
def test_any_mix_of_spellings_is_redacted(secret: str, before: str, after: str, data: st.DataObject) -> None:
    choices = data.draw(st.lists(st.integers(0, 4), min_size=len(secret), max_size=len(secret)))
    spelled = "".join(_spelled(character, how) for character, how in zip(secret, choices, strict=True))
    redacting = redactor(secret)
    text = redacting.redact(before + spelled + after)
    assert spelled not in text and REDACTED in text
    assert spelled.encode() not in redacting.redact_bytes((before + spelled + after).encode())


@PROPERTY
@given(secret=secrets, before=surroundings, after=surroundings)
def test_json_of_any_text_holding_a_secret_decodes_without_it(secret: str, before: str, after: str) -> None:
    redacting = redactor(secret)
    value = {"message": before + secret + after, "nested": json.dumps([secret])}
    for encoded in (orjson.dumps(value), json.dumps(value).encode(), json.dumps(value, ensure_ascii=False).encode()):
        decoded = orjson.loads(redacting.redact_bytes(encoded))
        assert secret not in decoded["message"] and secret not in json.loads(decoded["nested"])[0]


def test_each_spelling_of_a_hostile_key() -> None:
    redacting = redactor(KEY)
    spellings = [
        KEY,
        orjson.dumps(KEY).decode(),
        json.dumps(KEY),  # \u00e9 and a surrogate pair
        json.dumps(KEY).replace("/", "\\/"),
        "".join(f"\\u{ord(c):04x}" for c in KEY[:10]) + KEY[10:],  # \u0074r_…, as a hostile upstream may send it
        repr(KEY),
        repr(KEY.encode()),  # \xc3\xa9
        quote(KEY, safe=""),
        quote_plus(KEY),
        orjson.dumps(orjson.dumps(KEY).decode()).decode(),  # JSON in JSON
    ]
    for spelling in spellings:
        for redacted in (redacting.redact(f"<{spelling}>"), redacting.redact_bytes(f"<{spelling}>".encode()).decode()):
            assert redacted.strip("<>b'\"\\") == REDACTED, spelling


def test_text_without_escapes_is_left_as_it_is() -> None:
    redacting = redactor(KEY)
    text = 'a JSON body: {"id": "run_1", "path": "/api/v1/runs"} 100 percent'
    assert redacting.redact(text) == text and redacting.redact_bytes(text.encode()) == text.encode()


def test_a_preview_is_cut_after_redacting_and_hides_a_secrets_start_left_at_the_cut() -> None:
    redacting = redactor(KEY)
    body = ('{"error":"bad key ' + KEY + '"}').encode()
    assert redacting.preview(body, 40) == '{"error":"bad key ' + REDACTED + '"}'[:22]
    assert redacting.preview(body[:30], 40) == '{"error":"bad key ' + REDACTED  # only the key's first 12 characters
    assert redacting.preview(b'{"error":"a key"}', 40) == '{"error":"a key"}'


def test_header_values_are_redacted() -> None:
    redacting = redactor(KEY)
    assert redacting.redact_headers({"x-should-retry": KEY, "content-type": "application/json"}) == {
        "x-should-retry": REDACTED,
        "content-type": "application/json",
    }


def test_short_values_are_not_secrets() -> None:
    redacting = redactor("abc", "")
    assert redacting.redact("abc") == "abc"


@PROPERTY
@given(secret=secrets, prefix=st.text(min_size=1, max_size=8), other=secrets, before=surroundings, after=surroundings)
def test_a_secret_that_holds_another_is_redacted_whole_and_each_alone_too(
    secret: str, prefix: str, other: str, before: str, after: str
) -> None:
    # Only the values that hold no other are searched for first; the rest must still be found wherever they are.
    longer = prefix + secret
    redacting = redactor(secret, longer, other)
    for text in (before + longer + after, before + secret + after, before + other + after):
        redacted = redacting.redact(text)
        assert secret not in redacted and longer not in redacted and other not in redacted
        assert redacting.redact_bytes(text.encode()) == redacted.encode()
    assert redacting.redact(longer) == REDACTED
