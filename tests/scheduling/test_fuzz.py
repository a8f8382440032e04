"""Fuzzing sequence definitions (tests/fuzz.py)."""

from hypothesis import given
from hypothesis import strategies as st

from scheduling.definition import DefinitionError, parse_definition
from tests.fuzz import FUZZ, documented

yaml_pieces = st.sampled_from(
    ["steps:", "\n", "  ", "- ", "send: a", "[", "]", "{", "}", ", ", ": ", "&a ", "*a", "!!python/object:os.system",
     "!!binary ", "!!set ", "? ", "|", ">", "'", '"', "\\0", "2025-01-01", ".nan", "1" * 50, "#", "---", "..."]
)  # fmt: skip
yaml_text = st.one_of(
    st.lists(yaml_pieces, max_size=60).map("".join),
    st.tuples(st.lists(yaml_pieces, min_size=1, max_size=6).map("".join), st.integers(100, 3000)).map(
        lambda pair: "steps: " + pair[0] * pair[1]
    ),
)


@FUZZ
@given(source=yaml_text)
def test_definitions_are_parsed_with_documented_errors_only(source):
    documented(lambda: parse_definition(source), DefinitionError)
