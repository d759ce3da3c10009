"""Autocomplete of the /imagine prompt: `--style <partial>` at the end offers the server's styles.

Discord autocompletes whole option values, and /imagine has a single `prompt` option, so the
choices are the whole prompt with the style name filled in. Choices are at most 100 characters
(Discord's limit): a longer prompt gets no suggestions, which leaves the typed text as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_CHOICE_LENGTH = 100
MAX_CHOICES = 25
_STYLE_AT_END = re.compile(r"(?:^|\s)(?:--|—)style(?:\s+(?P<partial>\S*))?$", re.IGNORECASE)


def style_completions(text: str, style_names: Iterable[str]) -> list[str]:
    """Whole-prompt suggestions for `text`: one per style (and `raw`) matching a trailing
    `--style <partial>`, names starting with it first; otherwise just `text` itself."""
    if not text.strip() or len(text) > MAX_CHOICE_LENGTH:
        return []
    match = _STYLE_AT_END.search(text)
    if match is None:
        return [text]
    partial = (match["partial"] or "").lower()
    head = text[: match.start("partial")] if match["partial"] is not None else text.rstrip() + " "
    names = list(dict.fromkeys(["raw", *sorted(name.lower() for name in style_names)]))
    starting = [name for name in names if name.startswith(partial)]
    containing = [name for name in names if partial in name and name not in starting]
    choices = [head + name for name in starting + containing if len(head + name) <= MAX_CHOICE_LENGTH]
    return choices[:MAX_CHOICES] or [text]
