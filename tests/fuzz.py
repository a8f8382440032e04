"""Hypothesis strategies and settings shared by the fuzz tests of each parser of outside data
(tests/<app>/test_fuzz.py, issue 12). Each parser may only answer with its documented error, and
each example must finish within BOUND.

Deterministic (derandomize) and small, so CI runs the same examples every time in a few seconds.
Adversarial examples are fragments of markup repeated thousands of times: that is what makes a
backtracking regular expression or a rescanning lexer take quadratic time.
"""

import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.conftest import GUARD_SECONDS, takes_at_most

FUZZ = settings(
    derandomize=True,
    max_examples=60,
    deadline=None,  # the bound below is ours, generous for a busy 2-core machine
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
BOUND = GUARD_SECONDS  # per example; what this guards against took 10 s to minutes

PIECES = [
    *"<>/!-\"'= \n\t&#;:.,|()[]{}%",
    "</", "/>", "<!--", "-->", "<![", "<![CDATA[", "]]>", "<?", "<!DOCTYPE html>", "&amp;", "&#x", "é",
    "a", "p", "li", "div", "br", "img", "script", "style", "href", "alt", "https://x.io/", "mailto:a@b.co",
    "mjml", "mj-body", "mj-section", "mj-column", "mj-text", "mj-raw", "mj-button", "mj-wrapper",
    "{{", "}}", "{%", "%}", "{%-", "-%}", "raw", "endraw", "comment", "endcomment", "liquid", "if", "endif", "for",
    "endfor", "in", "x", "items", "..", "1", "100000000", "join", "uniq", "replace", "split", "append", "size",
]  # fmt: skip
fragment = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join)
markup = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=80).map("".join),
    st.tuples(fragment, st.integers(100, 4000)).map(lambda pair: pair[0] * pair[1]),  # adversarial
    st.tuples(fragment, fragment, st.integers(100, 2000)).map(lambda t: t[0] + t[1] * t[2]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


def documented(call: Callable[[], Any], *errors: type[Exception]) -> Any:
    """Runs `call` within the bound; any exception but the documented ones fails the example."""
    with takes_at_most(BOUND):
        try:
            return call()
        except errors:
            return None


def adversarial_json() -> st.SearchStrategy[str]:
    openers = st.sampled_from(["[", '{"a":', '[{"b":[', '"\\u0000"', '"\\ud800"', "1e999999", "-", '"', "\\"])
    return st.one_of(
        json_values.map(json.dumps),
        st.tuples(openers, st.integers(1, 50_000)).map(lambda pair: pair[0] * pair[1]),
        st.binary(max_size=200).map(lambda raw: raw.decode("latin-1")),
    )
