"""Multi-prompts: `hot:: dog::2` → parts ("hot", 1), ("dog", 2).

A `::` ends a part; a number right after it (`::2`, `::-0.5`, `::.5`) is that part's weight,
otherwise the weight is 1. The text after the last `::` is a part of weight 1. Weights may be
negative (`--no x` is the same idea as `x::-.5`) but their sum must be positive, as in
Midjourney. A prompt without `::` has no parts: it is conditioned as plain text.
"""

from __future__ import annotations

import re

from bot.engine.request import WeightedPrompt
from bot.errors import InvalidPrompt

MAX_WEIGHT = 100.0
_SEPARATOR = re.compile(r"::(-?(?:\d{1,6}(?:\.\d{0,6})?|\.\d{1,6}))?")


def split_multiprompt(text: str) -> tuple[WeightedPrompt, ...]:
    """The weighted parts of `text`, or () when it has no `::`.

    Raises InvalidPrompt when a weight is out of range, a weighted part has no text, or the
    weights do not add up to more than zero.
    """
    if "::" not in text:
        return ()
    parts: list[WeightedPrompt] = []
    position = 0
    for match in _SEPARATOR.finditer(text):
        part = " ".join(text[position : match.start()].split())
        weight = float(match.group(1)) if match.group(1) is not None else 1.0
        position = match.end()
        if not part:
            if match.group(1) is not None:
                raise InvalidPrompt(f"The weight `::{match.group(1)}` follows no text.")
            continue
        if abs(weight) > MAX_WEIGHT:
            raise InvalidPrompt(f"Multi-prompt weights must be between -{MAX_WEIGHT:g} and {MAX_WEIGHT:g}.")
        parts.append(WeightedPrompt(part, weight))
    tail = " ".join(text[position:].split())
    if tail:
        parts.append(WeightedPrompt(tail, 1.0))
    if parts and sum(part.weight for part in parts) <= 0:
        raise InvalidPrompt(
            "The weights of a multi-prompt must add up to more than zero "
            f"(these add up to {sum(part.weight for part in parts):g})."
        )
    return tuple(parts)
