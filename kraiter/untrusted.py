"""Checks on structured data from outside (JSON bodies, cursors, webhooks, YAML definitions, CSV
cells), made once, where the data comes in, before anything is stored or rendered.

- Nesting is bounded (MAX_NESTING). Deeper data is refused: Python's JSON and YAML parsers and
  everything recursive downstream (serialisers, Liquid, `copy.deepcopy`) would otherwise hit the
  recursion limit, a 500, on input as small as `[` x 1,000.
- Text must be storable: PostgreSQL refuses a NUL (U+0000) in text and JSON, and a lone surrogate
  (`"\\ud800"` is valid JSON) cannot be encoded as UTF-8 at all. Either would be a 500 from the
  database, or a preview that renders what a send then cannot store.
- Only JSON's values: YAML also makes dates, sets, bytes, NaN and cyclic lists, none of which a
  JSON column holds.
- The walk is iterative and can stop after `max_nodes` values, so YAML aliases (which share one
  object between many places, the "billion laughs") are counted as expanded, without expanding.
"""

import json
import math
import re
from dataclasses import dataclass
from typing import Any

MAX_NESTING = 32  # lists and objects inside each other

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(eq=False)
class UntrustedInput(Exception):
    """Why data from outside is refused: where (a path such as `properties.name`, or "" for the
    whole value) and what is wrong with it."""

    path: str
    problem: str

    def describe(self, whole: str) -> str:
        """The message for a client; `whole` names the value when the path is empty ("The body")."""
        return f"'{self.path}' {self.problem}." if self.path else f"{whole} {self.problem}."


def loads(text: str | bytes, *, max_depth: int = MAX_NESTING) -> Any:
    """json.loads, refusing (UntrustedInput) what check_value refuses. Malformed JSON is still
    ValueError. json's C decoder guards its own recursion with the interpreter's recursion limit
    (RecursionError, never a crash), which is far above max_depth."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise too_deep(max_depth) from None
    check_value(value, max_depth=max_depth)
    return value


def check_value(value: Any, *, max_depth: int = MAX_NESTING, max_nodes: int | None = None) -> None:
    """UntrustedInput at the first value (in document order) that nests too deep, holds text that
    cannot be stored, or is not a JSON value; or once more than `max_nodes` values were seen."""
    pending: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 0, ())]
    seen = 0
    while pending:
        item, depth, path = pending.pop()
        seen += 1
        if max_nodes is not None and seen > max_nodes:
            raise UntrustedInput("", f"holds more than {max_nodes:,} values (aliases expanded)")
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                raise UntrustedInput(format_path(path), problem)
        elif isinstance(item, (dict, list)):
            if depth >= max_depth:
                raise too_deep(max_depth)
            pending.extend(reversed(_children(item, depth, path)))
        elif isinstance(item, float) and not math.isfinite(item):
            raise UntrustedInput(format_path(path), "is not a finite number")
        elif item is not None and not isinstance(item, (bool, int, float)):
            raise UntrustedInput(format_path(path), f"is a {type(item).__name__}, not text, a number, a list or a map")


def _children(item: dict[Any, Any] | list[Any], depth: int, path: tuple[str | int, ...]) -> list[Any]:
    if isinstance(item, list):
        return [(child, depth + 1, (*path, index)) for index, child in enumerate(item)]
    children = []
    for key, child in item.items():
        name = key if isinstance(key, str) else str(key)  # YAML allows numbers and null as keys
        if problem := text_problem(name):
            raise UntrustedInput(format_path((*path, name)), f"is a key that {problem}")
        children.append((child, depth + 1, (*path, name)))
    return children


def text_problem(text: str) -> str | None:
    """Why this text cannot be stored (a NUL, a lone surrogate), or None."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored"
    if not text.isascii() and (surrogate := _SURROGATE.search(text)):
        return f"contains a lone surrogate (\\u{ord(surrogate.group()):04x}), which is not valid Unicode"
    return None


def unstorable_at(text: str) -> int:
    """The position of the first character text_problem objects to, or -1."""
    positions = [text.find("\x00")]
    if not text.isascii() and (surrogate := _SURROGATE.search(text)):
        positions.append(surrogate.start())
    return min((p for p in positions if p >= 0), default=-1)


def format_path(path: tuple[str | int, ...]) -> str:
    """`("variables", "items", 2, "name")` as `variables.items[2].name`, with unprintable
    characters escaped (the path goes back to the client in JSON)."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + _printable(part)
    return text


def _printable(key: str) -> str:
    if text_problem(key) is None and key.isprintable():
        return key
    return "".join(c if c.isprintable() and not _SURROGATE.match(c) else f"\\u{ord(c):04x}" for c in key)


def too_deep(max_depth: int = MAX_NESTING) -> UntrustedInput:
    return UntrustedInput("", f"is nested more than {max_depth} levels deep")
