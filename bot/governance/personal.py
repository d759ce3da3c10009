"""Personal settings without Discord: /settings values, /prefer options and the /prefer suffix.

`PersonalSettings` is the plain record these helpers read (the repository maps its rows to it).
`user_defaults(settings)` turns it into the parameters it stands for, the weakest layer of a
prompt after the style preset's (see `bot.prompt.PromptContext`). `validate_option` and
`validate_suffix` check what `/prefer` stores by expanding it the way `/imagine` will.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from bot.errors import InvalidParameter, InvalidPrompt, UserFacingError
from bot.governance.models import PersonalSettings
from bot.prompt import PromptContext, expand_prompt
from bot.prompt.params import PARAMETER_NAMES, normalise_dashes, split_parameters

MAX_OPTIONS = 20
MAX_OPTION_NAME_LENGTH = 32
MAX_OPTION_VALUE_LENGTH = 1000
MAX_SUFFIX_LENGTH = 1000

_OPTION_NAME = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{MAX_OPTION_NAME_LENGTH - 1}}}")


@dataclass(frozen=True)
class StylizeLevel:
    """One of the /settings stylize buttons: `key` for ids, `label` for people, `value` for --s."""

    key: str
    label: str
    value: int


STYLIZE_LEVELS: tuple[StylizeLevel, ...] = (
    StylizeLevel("low", "Stylize low", 50),
    StylizeLevel("med", "Stylize med", 100),
    StylizeLevel("high", "Stylize high", 250),
    StylizeLevel("very-high", "Stylize very high", 750),
)


def stylize_level(key: str) -> StylizeLevel:
    """The level with this key (`low`, `med`, `high`, `very-high`); ValueError for another key."""
    for level in STYLIZE_LEVELS:
        if level.key == key:
            return level
    raise ValueError(f"unknown stylize level {key!r}")


def level_for_stylize(value: int | None) -> StylizeLevel | None:
    """The level a stored --s value stands for (None when it is not one of the four)."""
    return next((level for level in STYLIZE_LEVELS if level.value == value), None)


def user_defaults(settings: PersonalSettings, versions: Collection[str] | None = None) -> str:
    """The parameters `settings` stand for, e.g. `--v 6 --stylize 250 --style raw --relax`.

    Remix and the variation mode are not prompt parameters, so they are not in it. `versions`
    are the model aliases that exist now: a stored model missing from them (the operator removed
    the alias) is left out instead of breaking every prompt of that user.
    """
    parts = []
    if settings.model:
        known = versions is None or settings.model.lower() in {name.lower() for name in versions}
        if known:
            parts.append(f"--v {settings.model}")
    if settings.stylize is not None:
        parts.append(f"--stylize {settings.stylize}")
    if settings.raw:
        parts.append("--style raw")
    if settings.speed == "relax":
        parts.append("--relax")
    if settings.personalize:
        parts.append(f"--p {settings.profile}".strip())
    return " ".join(parts)


def personal_context(
    base: PromptContext, settings: PersonalSettings, options: Mapping[str, str] | None = None
) -> PromptContext:
    """`base` (model facts, server presets) with this user's suffix, options and defaults."""
    return replace(
        base,
        suffix=settings.suffix,
        options=dict(options or {}),
        user_defaults=user_defaults(settings, base.model_aliases),
    )


def option_name(name: str) -> str:
    """An option's name as stored: without `--`, lower case; InvalidParameter if it breaks the rules.

    One word of up to 32 letters, digits, `-` and `_`, starting with a letter or digit, and not a
    built-in parameter name or alias (`--ar` always means aspect).
    """
    cleaned = name.strip().lower()
    cleaned = cleaned.removeprefix("--").removeprefix("—")
    if not _OPTION_NAME.fullmatch(cleaned):
        shown = name.strip()[:40] or "(empty)"
        raise InvalidParameter(
            f"`{shown}` can't be an option name: use one word of up to {MAX_OPTION_NAME_LENGTH} letters, "
            "digits, `-` or `_`, starting with a letter or digit (e.g. `wide`)."
        )
    if cleaned in PARAMETER_NAMES:
        raise InvalidParameter(f"`--{cleaned}` is a built-in parameter; pick another name for your option.")
    return cleaned


def validate_option(
    name: str, value: str, existing: Mapping[str, str], context: PromptContext | None = None
) -> tuple[str, str | None]:
    """`/prefer option set name value` checked: `(name, value)`, value None meaning "delete it".

    `existing` are the user's options now (at most 20 may exist). The value must read as prompt
    text and/or parameters; it is tried as `test <value>` with `context` (the server's model
    aliases and presets; a plain context without it). Options never hold other options: only
    one level is expanded, so `--other` inside a value is refused here as at /imagine.
    """
    cleaned = option_name(name)
    text = " ".join(value.split())
    if not text:
        return cleaned, None
    known = {key.lower().removeprefix("--") for key in existing}
    if cleaned not in known and len(known) >= MAX_OPTIONS:
        raise InvalidParameter(
            f"You already have {MAX_OPTIONS} options, the limit. Delete one first "
            "(`/prefer option set` with the name and an empty value)."
        )
    if len(text) > MAX_OPTION_VALUE_LENGTH:
        raise InvalidPrompt(
            f"The value of `--{cleaned}` is {len(text)} characters long; the limit is {MAX_OPTION_VALUE_LENGTH}."
        )
    _, pairs = split_parameters(normalise_dashes(text))
    nested = next((typed for typed, _ in pairs if typed.lower() in known - PARAMETER_NAMES), None)
    if nested is not None:
        raise InvalidParameter(
            f"Option `--{cleaned}`: `--{nested}` is another of your options; an option can't use other options."
        )
    trial = replace(context or PromptContext(), options={}, suffix="", user_defaults="", default_style=None)
    _try(f"test {text}", trial, f"Option `--{cleaned}`")
    return cleaned, text


def validate_suffix(suffix: str, context: PromptContext | None = None) -> str:
    """`/prefer suffix` checked: the suffix to store ("" clears it), or a clear error.

    `context` should carry the user's options (a suffix may use them) and the server's presets;
    the suffix is tried after `test` the way /imagine appends it.
    """
    text = " ".join(suffix.split())
    if not text:
        return ""
    if len(text) > MAX_SUFFIX_LENGTH:
        raise InvalidPrompt(f"The suffix is {len(text)} characters long; the limit is {MAX_SUFFIX_LENGTH}.")
    trial = replace(context or PromptContext(), suffix=text, user_defaults="")
    _try("test", trial, "Suffix")
    return text


def _try(prompt: str, context: PromptContext, what: str) -> None:
    """Expand `prompt`, re-raising its error (same type) with `what` named in front."""
    try:
        expand_prompt(prompt, context)
    except UserFacingError as error:
        message = error.message
        # Errors in the suffix's parameters already end "(from your suffix)".
        if "(from your suffix)" not in message:
            message = f"{what}: {message}"
        raise type(error)(message) from None
