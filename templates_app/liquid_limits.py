"""What python-liquid needs around it to stay linear and bounded with hostile templates.

1. `check_liquid_markup`, before python-liquid's lexer sees a template. The lexer tokenizes the
   whole template with regular expressions that, on some malformed input, rescan the rest of the
   template from every opening delimiter: `{{` repeated 20,000 times (40 KB) takes 80 s, a
   `{% raw %}` without its end tag and a `{% endif %}` padded with thousands of spaces grow with
   the square of their length, and its expression tokenizer does the same within one tag. This
   pass walks the delimiters once, as the lexer will, and refuses (naming the line) what would make
   the lexer rescan: a delimiter never closed, a raw block never ended, a tag longer than
   MAX_MARKUP_LENGTH (per line for `{% liquid %}`), a tag that is only a long run of whitespace.
2. `guard_filters`, around every filter. A filter is where a short template asks for unbounded
   work: `(1..100000000) | join` builds a string of hundreds of megabytes (15 s, then MemoryError),
   `uniq` compares each item with every other, `replace` and `join` multiply their input. The
   guard refuses ranges of more than MAX_ITEMS, refuses in advance a `replace` or `join` whose
   result would pass MAX_TEXT, and refuses any result past MAX_TEXT, MAX_ITEMS or MAX_DIGITS;
   `uniq` is replaced by a linear one with the same result.

Both refuse with LiquidErrors that carry a token (the markup check's points at the delimiter), so
the renderer reports them, with their line, like any other template error.
"""

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from liquid.exceptions import FilterArgumentError, LiquidSyntaxError
from liquid.filter import flatten, sequence_filter
from liquid.token import TOKEN_CONTENT, Token

MAX_MARKUP_LENGTH = 1000  # characters from `{{`/`{%` to `}}`/`%}`
MAX_BLANK_MARKUP = 32  # whitespace characters in a tag that holds nothing else
MAX_ITEMS = 100_000  # items in a range given to a filter, or in a list a filter returns
MAX_TEXT = 4 * 1024 * 1024  # characters a filter may return (the renderer's output limit)
MAX_DIGITS = 4000  # digits of a number a filter may return (Python cannot print more than 4,300)

_OPENER = re.compile(r"\{[{%]")
_TAG_NAME = re.compile(r"\{%-?\s*+(#|\w+)")
_BLOCK_START = re.compile(r"\{%-?\s*+(raw|doc)\s*+-?%\}")
_BLOCK_END = {name: re.compile(rf"\{{%-?\s*+end{name}\s*+-?%\}}") for name in ("raw", "doc")}


def check_liquid_markup(source: str) -> None:
    """LiquidSyntaxError for Liquid markup python-liquid's lexer cannot read in linear time.
    Walks the delimiters in the order the lexer matches them."""
    pos = 0
    while (opener := _OPENER.search(source, pos)) is not None:
        start = opener.start()
        if source.startswith("{{", start):
            close = source.find("}}", start + 2)
            if close < 0:
                raise _error(source, start, "'{{' is never closed with '}}'")
            _check_expression(source, start, source[start + 2 : close].removeprefix("-"), close + 2)
            pos = close + 2
            continue
        name = _TAG_NAME.match(source, start)
        if name is None:  # not a tag: the lexer reads "{%" as text and goes on after "{"
            pos = start + 1
            continue
        block = _BLOCK_START.match(source, start)
        if block is not None:
            end = _BLOCK_END[block.group(1)].search(source, block.end())
            if end is None:
                raise _error(
                    source, start, f"{{% {block.group(1)} %}} is never closed with {{% end{block.group(1)} %}}"
                )
            pos = end.end()
            continue
        close = source.find("%}", name.end())
        if close < 0:
            raise _error(source, start, "'{%' is never closed with '%}'")
        if name.group(1) == "liquid":  # its lines are read one by one
            _check_lines(source, start, close + 2)
        else:
            _check_expression(source, start, source[name.end() : close], close + 2)
        pos = close + 2


def _check_expression(source: str, start: int, expression: str, end: int) -> None:
    if end - start > MAX_MARKUP_LENGTH:
        raise _error(source, start, f"a Liquid tag is longer than {MAX_MARKUP_LENGTH:,} characters")
    blank = expression.removesuffix("-")
    if len(blank) > MAX_BLANK_MARKUP and blank.isspace():
        raise _error(source, start, f"a Liquid tag holds only whitespace, more than {MAX_BLANK_MARKUP} characters")


def _check_lines(source: str, start: int, end: int) -> None:
    line_start = start
    while line_start < end:
        line_end = source.find("\n", line_start, end)
        line_end = end if line_end < 0 else line_end
        if line_end - line_start > MAX_MARKUP_LENGTH:
            raise _error(source, line_start, f"a line of a Liquid tag is longer than {MAX_MARKUP_LENGTH:,} characters")
        line_start = line_end + 1


def _error(source: str, position: int, reason: str) -> LiquidSyntaxError:
    return LiquidSyntaxError(reason, token=Token(TOKEN_CONTENT, source[position : position + 2], position, source))


def guard_filters(filters: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """The filters, each wrapped in the guard; `uniq` replaced by a linear one."""
    guarded = {name: _guard(name, function) for name, function in filters.items() if name != "uniq"}
    if "uniq" in filters:
        guarded["uniq"] = _guard("uniq", uniq)
    return guarded


def _guard(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(value: Any, *args: Any, **kwargs: Any) -> Any:
        for argument in (value, *args, *kwargs.values()):
            if isinstance(argument, range) and len(argument) > MAX_ITEMS:
                raise FilterArgumentError(f"{name}: a range of more than {MAX_ITEMS:,} items", token=None)
        estimate = _ESTIMATES.get(name)
        if estimate is not None and estimate(value, *args) > MAX_TEXT:
            raise FilterArgumentError(f"{name}: the result would be longer than {MAX_TEXT:,} characters", token=None)
        result = function(value, *args, **kwargs)
        _check_result(name, result)
        return result

    functools.update_wrapper(guarded, function)
    for marker in ("with_context", "with_environment", "validate"):  # read by python-liquid
        if hasattr(function, marker):
            setattr(guarded, marker, getattr(function, marker))
    return guarded


def _check_result(name: str, result: Any) -> None:
    if isinstance(result, str) and len(result) > MAX_TEXT:
        raise FilterArgumentError(f"{name}: the result is longer than {MAX_TEXT:,} characters", token=None)
    if isinstance(result, (list, tuple, range)) and len(result) > MAX_ITEMS:
        raise FilterArgumentError(f"{name}: the result has more than {MAX_ITEMS:,} items", token=None)
    if isinstance(result, int) and result.bit_length() > MAX_DIGITS * 10 // 3:
        raise FilterArgumentError(f"{name}: the result has more than {MAX_DIGITS:,} digits", token=None)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _replace_size(value: Any, old: Any = "", new: Any = "", *_: Any) -> int:
    text, old_text, new_text = _text(value), _text(old), _text(new)
    count = text.count(old_text) if old_text else len(text) + 1
    return len(text) + count * max(0, len(new_text) - len(old_text))


def _join_size(value: Any, separator: Any = " ", *_: Any) -> int:
    if not isinstance(value, (list, tuple, range)):
        return 0
    size, gap = 0, len(_text(separator))
    for item in flatten(value):  # as `join` will see them; stops once the result is too long
        size += gap + (len(item) if isinstance(item, str) else 1)
        if size > MAX_TEXT:
            break
    return size


_ESTIMATES: dict[str, Callable[..., int]] = {"replace": _replace_size, "join": _join_size}


@sequence_filter
def uniq(sequence: Iterable[Any], key: object = None) -> list[object]:
    """python-liquid's `uniq` (the first of equal items kept), in linear time: theirs compares
    every item with every earlier one."""
    seen_hashable: set[Any] = set()
    seen_other: set[str] = set()
    result = []
    for item in sequence:
        compared = item if key is None else _property(item, key)
        try:
            if compared in seen_hashable:
                continue
            seen_hashable.add(compared)
        except TypeError:  # a mapping or a list: compared by its JSON form
            canonical = json.dumps(compared, sort_keys=True, default=str)
            if canonical in seen_other:
                continue
            seen_other.add(canonical)
        result.append(item)
    return result


_MISSING = object()


def _property(item: Any, key: object) -> Any:
    try:
        return item[key]
    except KeyError:
        return _MISSING
    except (TypeError, IndexError) as exc:
        raise FilterArgumentError(f"can't read property '{key}' of {item}", token=None) from exc
