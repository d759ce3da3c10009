"""Permutation prompts: `a {red, green} bird` → `a red bird`, `a green bird`.

Groups multiply (`{a, b} {c, d}` → 4 texts, first group slowest), nest (`{a {b, c}, d}`), work
anywhere in the text including parameter values (`--ar {1:1, 16:9}`), and `\\,` is a literal
comma (`\\{`, `\\}` are literal braces). The text is parsed once into a small tree and the number
of results is counted, capped, before anything is expanded, so pathological input (deep nesting,
hundreds of groups) costs time linear in its length, never exponential.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from bot.errors import InvalidPrompt

MAX_DEPTH = 8
_ESCAPES = {",": ",", "{": "{", "}": "}"}


@dataclass(frozen=True)
class _Group:
    options: tuple[tuple[str | _Group, ...], ...]


_Sequence = tuple[str | _Group, ...]


def expand_permutations(text: str, limit: int) -> list[str]:
    """Every text the permutation groups of `text` stand for, in order.

    Raises InvalidPrompt for unbalanced braces, nesting deeper than MAX_DEPTH, or more than
    `limit` results (checked before expanding).
    """
    tree = _parse(text)
    count = _count(tree, limit)
    if count > limit:
        raise InvalidPrompt(
            f"The permutations in this prompt make more than {limit} prompts; the limit is {limit}."
        )
    return _expand(tree)


def _parse(text: str) -> _Sequence:
    # An explicit stack instead of recursion: nesting depth is bounded by MAX_DEPTH anyway, but
    # this keeps the parser a single linear pass.
    stack: list[tuple[list[_Sequence], list[str | _Group]]] = []
    current: list[str | _Group] = []
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            current.append("".join(buffer))
            buffer.clear()

    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in _ESCAPES:
            buffer.append(_ESCAPES[text[index + 1]])
            index += 2
            continue
        if char == "{":
            if len(stack) >= MAX_DEPTH:
                raise InvalidPrompt(f"Permutation groups `{{…}}` can nest at most {MAX_DEPTH} deep.")
            flush()
            stack.append(([], current))
            current = []
        elif char == "," and stack:
            flush()
            stack[-1][0].append(tuple(current))
            current = []
        elif char == "}":
            if not stack:
                raise InvalidPrompt("A `}` has no matching `{` (write `\\}` for a literal brace).")
            flush()
            options, outer = stack.pop()
            options.append(tuple(current))
            outer.append(_Group(tuple(tuple(_strip(option)) for option in options)))
            current = outer
        else:
            buffer.append(char)
        index += 1
    if stack:
        raise InvalidPrompt("A `{` is never closed (write `\\{` for a literal brace).")
    flush()
    return tuple(current)


def _strip(option: tuple[str | _Group, ...]) -> list[str | _Group]:
    """Trim the spaces around an option (`{ red , green }` → `red`, `green`)."""
    items = list(option)
    if items and isinstance(items[0], str):
        items[0] = items[0].lstrip()
    if items and isinstance(items[-1], str):
        items[-1] = items[-1].rstrip()
    return [item for item in items if item != ""]


def _count(sequence: _Sequence, limit: int) -> int:
    total = 1
    for item in sequence:
        if isinstance(item, _Group):
            options = 0
            for option in item.options:
                options = min(options + _count(option, limit), limit + 1)
            total = min(total * options, limit + 1)
    return total


def _expand(sequence: _Sequence) -> list[str]:
    choices: list[list[str]] = []
    for item in sequence:
        if isinstance(item, _Group):
            choices.append([text for option in item.options for text in _expand(option)])
        else:
            choices.append([item])
    return ["".join(parts) for parts in itertools.product(*choices)]
