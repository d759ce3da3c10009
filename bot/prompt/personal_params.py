"""Readers of the personal-style parameters: `--sref` (links, style codes, `random`), `--p`.

| Parameter                   | Aliases              | Value                                            |
|-----------------------------|----------------------|--------------------------------------------------|
| `--sref A B …`              |                      | up to five of: http(s) image links, style codes  |
|                             |                      | (whole numbers 0–9999999999), `random`; each may |
|                             |                      | carry a weight `::W` (W 0–10, at least one > 0)  |
| `--sv N`                    |                      | style reference version, whole number 1–7        |
| `--personalize [CODE …]`    | `--p`, `--profile`   | nothing (your default profile) or up to five     |
|                             |                      | profile/moodboard codes, each `CODE` or          |
|                             |                      | `CODE::W` (W 0–10)                               |
| `--exp N`                   |                      | experimental aesthetics, whole number 0–100      |

Pure text handling: no store, no torch (`python -m bot parse` reads prompts with it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.errors import InvalidLink, InvalidParameter

__all__ = [
    "MAX_STYLE_CODE",
    "MAX_WEIGHTED",
    "RANDOM_STYLE",
    "WeightedCode",
    "read_profiles",
    "read_style_refs",
    "style_ref_link",
]

MAX_WEIGHTED = 5
MAX_STYLE_CODE = 9_999_999_999
MAX_ITEM_WEIGHT = 10.0
RANDOM_STYLE = "random"
_STYLE_CODE = re.compile(r"\d{1,10}")
_PROFILE_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_WEIGHT = re.compile(r"(?:\d{1,3}(?:\.\d{0,4})?|\.\d{1,4})")
_ITEM = re.compile(r"(?P<item>.+?)(?:::(?P<weight>[^:]*))?")


@dataclass(frozen=True)
class WeightedCode:
    """One `--p` code (or "" for "my default profile") and its weight."""

    code: str
    weight: float = 1.0


def _split_weight(word: str, name: str) -> tuple[str, float]:
    """`x::2` → ("x", 2.0); `x` → ("x", 1.0). Raises InvalidParameter for a bad weight."""
    match = _ITEM.fullmatch(word)
    if match is None:
        raise ValueError
    item, weight = match.group("item"), match.group("weight")
    if weight is None:
        return item, 1.0
    if not _WEIGHT.fullmatch(weight) or float(weight) > MAX_ITEM_WEIGHT:
        raise InvalidParameter(
            f"Invalid weight `::{weight}` after `{item[:40]}` in `--{name}`: "
            f"expected a number from 0 to {MAX_ITEM_WEIGHT:g}."
        )
    return item, float(weight)


def _check_weights(weights: list[float], name: str) -> None:
    if weights and sum(weights) <= 0:
        raise InvalidParameter(f"The weights in `--{name}` add up to 0: at least one must be above 0.")


def style_ref_link(item: str) -> bool:
    """Whether a `--sref` item is an image link (else a style code or `random`)."""
    return "://" in item


def _checked_link(link: str) -> str:
    """An http(s) link with a host, else InvalidLink naming it."""
    try:
        parts = urlsplit(link)
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        shown = link if len(link) <= 60 else link[:57] + "…"
        raise InvalidLink(f"`{shown}` is not an http(s) link to an image.")
    return link


def read_style_refs(value: str) -> tuple[tuple[str, float], ...]:
    """`--sref` items as (item, weight): links as typed (without `<>`), codes as digits, `random`.

    Raises ValueError (→ Invalid parameter naming `--sref`), InvalidParameter or InvalidLink.
    """
    items: list[tuple[str, float]] = []
    for word in value.split():
        item, weight = _split_weight(word.removeprefix("<").removesuffix(">"), "sref")
        item = item.removeprefix("<").removesuffix(">")
        lowered = item.lower()
        if lowered == RANDOM_STYLE:
            items.append((RANDOM_STYLE, weight))
        elif _STYLE_CODE.fullmatch(item):
            items.append((str(int(item)), weight))
        elif "://" in item:
            items.append((_checked_link(item), weight))
        elif item.isdigit():
            raise InvalidParameter(
                f"Invalid style code `{item[:40]}` for `--sref`: style codes are whole numbers "
                f"from 0 to {MAX_STYLE_CODE}."
            )
        else:
            raise InvalidLink(
                f"`{item[:60]}` is not an http(s) link to an image, a style code or `random` (`--sref`)."
            )
    if not items:
        raise ValueError
    if len(items) > MAX_WEIGHTED:
        raise InvalidLink(f"At most {MAX_WEIGHTED} style references, not {len(items)}.")
    _check_weights([weight for _, weight in items], "sref")
    return tuple(items)


def read_profiles(value: str) -> tuple[WeightedCode, ...]:
    """`--p` codes; no value means the member's default profile (code "")."""
    if not value:
        return (WeightedCode(""),)
    codes: list[WeightedCode] = []
    for word in value.split():
        code, weight = _split_weight(word, "p")
        code = code.lower()
        if not _PROFILE_CODE.fullmatch(code):
            raise InvalidParameter(
                f"`{code[:40]}` is not a profile or moodboard code (`--p`): codes are letters and "
                "digits, like `--p k3v9qz`. Parameters go at the end of the prompt."
            )
        codes.append(WeightedCode(code, weight))
    if len(codes) > MAX_WEIGHTED:
        raise InvalidParameter(f"At most {MAX_WEIGHTED} profile codes in `--p`, not {len(codes)}.")
    _check_weights([code.weight for code in codes], "p")
    return tuple(codes)
