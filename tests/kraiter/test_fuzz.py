"""Fuzzing JSON bodies and cursors (tests/fuzz.py)."""

import base64
import io

from hypothesis import given
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError

from kraiter.api.pagination import decode_cursor, id_key, timestamp_key
from kraiter.api.parsers import JsonObjectParser
from kraiter.errors import InvalidInput
from tests.fuzz import FUZZ, adversarial_json, documented


@FUZZ
@given(text=adversarial_json())
def test_json_bodies_are_parsed_with_documented_errors_only(text):
    parser = JsonObjectParser()
    documented(lambda: parser.parse(io.BytesIO(text.encode("utf-8", "surrogatepass"))), InvalidInput, ParseError)


CURSOR_KEYS = [timestamp_key("createdAt", "created_at", descending=True), id_key("cnt")]


@FUZZ
@given(payload=st.one_of(adversarial_json(), st.text(max_size=100)), encode=st.booleans())
def test_cursors_are_decoded_with_documented_errors_only(payload, encode):
    raw = base64.urlsafe_b64encode(payload.encode("utf-8", "surrogatepass")).decode() if encode else payload
    documented(lambda: decode_cursor(raw, CURSOR_KEYS, {}), InvalidInput)
