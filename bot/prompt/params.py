"""Midjourney parameters: names, aliases, allowed values, and splitting them off a prompt.

| Parameter                 | Aliases  | Value                                  | Default |
|---------------------------|----------|----------------------------------------|---------|
| `--aspect W:H`            | `--ar`   | whole numbers, ratio from 1:4 to 4:1   | 1:1     |
| `--chaos N`               | `--c`    | whole number 0–100                     | 0       |
| `--no a, b`               |          | comma list → negative prompt; repeats add up | –  |
| `--quality Q`             | `--q`    | .25, .5, 1, 2 or 4 (4: V7)             | 1       |
| `--repeat N`              | `--r`    | whole number 2–40                      | 1       |
| `--seed N`                |          | whole number 0–4294967295              | random  |
| `--stop N`                |          | whole number 10–100                    | 100     |
| `--stylize N`             | `--s`    | whole number 0–1000                    | 100     |
| `--style raw` / `<preset>` |         | `raw` or a style preset of the server  | server default preset |
| `--tile`                  |          | flag                                   | off     |
| `--version V`             | `--v`    | a name in MODEL_ALIASES, or a Midjourney version (→ MODEL) | MODEL |
| `--niji [V]`              |          | MODEL_ALIASES `niji<V>` or `niji`      | –       |
| `--weird N`               | `--w`    | whole number 0–3000                    | 0       |
| `--iw N`                  |          | number 0–3 (image prompt weight)       | 1       |
| `--sref A…`               |          | one to five image links / style codes / `random`, `::W` weights | – |
| `--sv N`                  |          | whole number 1–7 (style reference version) | 6   |
| `--sw N`                  |          | whole number 0–1000 (style weight)     | 100     |
| `--cref URL…`             |          | one to five http(s) image links (character) | –  |
| `--cw N`                  |          | whole number 0–100 (character weight)  | 100     |
| `--oref URL`              |          | one http(s) image link (object/omni)   | –       |
| `--ow N`                  |          | whole number 0–1000 (object weight, V7) | 100    |
| `--fast` `--relax` `--turbo` |       | flags (speed)                          | fast    |
| `--draft`                 |          | flag: a fast, cheaper grid (Enhance re-renders it) | off |
| `--hd` / `--sd`           |          | flags: ≈ 2 MP images / the model's native size | `--sd` |
| `--zoom N`                |          | number 1–2; Custom Zoom only           | –       |
| `--raw`                   |          | flag: `--style raw`; with `--video` less creative motion | off |
| `--exp N`                 |          | whole number 0–100 (experimental aesthetics) | 0 |
| `--personalize [CODE…]`   | `--p` `--profile` | nothing (your profile) or up to five codes, `::W` weights | – |
| `--video`                 |          | flag: animate the prompt's image link (start frame) | off |
| `--motion low|high`       |          | `low` or `high` (with `--video`)       | low     |
| `--loop`                  |          | flag: the clip ends on its start frame (with `--video`) | off |
| `--end URL`               |          | one http(s) image link: the end frame (with `--video`) | – |
| `--bs N`                  |          | 1, 2 or 4: clips per video job         | 4       |

The personal-style readers (`--sref` items, `--p` codes) are in personal_params.py.
| `--edit URL`              |          | one http(s) image link: edit it by the prompt (the Edit model) | – |

Parameters go at the end: everything after the first ` --name` is parameters, and each value runs
to the next ` --name`. An em dash `—` at the start of a word counts as `--` (phones turn `--`
into `—`). A parameter given twice counts once, the later one wins (`--no` lists add up).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.errors import InvalidLink, InvalidParameter
from bot.prompt.personal_params import read_profiles, read_style_refs

MAX_RATIO = 4.0
# `--name` at the start of a word; the name is the rest of the word.
PARAMETER_START = re.compile(r"(?<!\S)--(?=\S)")
_EM_DASH = re.compile(r"(?<!\S)—(?=\S)")
_WHOLE = re.compile(r"\d{1,12}")
_GLUED_VALUE = re.compile(r"([a-z]+)([\d.:].*)")
_NUMBER = re.compile(r"(?:\d{1,6}(?:\.\d{0,6})?|\.\d{1,6})")


@dataclass(frozen=True)
class Parameter:
    """One parameter: its key in the parsed result, how its value reads, and what is allowed."""

    name: str
    aliases: tuple[str, ...]
    key: str
    takes_value: str  # "required", "optional" or "none"
    allowed: str
    read: Callable[[str], Any]

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def _whole(low: int, high: int) -> Callable[[str], int]:
    def read(value: str) -> int:
        if not _WHOLE.fullmatch(value) or not low <= int(value) <= high:
            raise ValueError
        return int(value)

    return read


def _number(low: float, high: float) -> Callable[[str], float]:
    def read(value: str) -> float:
        if not _NUMBER.fullmatch(value) or not low <= float(value) <= high:
            raise ValueError
        return float(value)

    return read


def _quality(value: str) -> float:
    if not _NUMBER.fullmatch(value) or float(value) not in (0.25, 0.5, 1.0, 2.0, 4.0):
        raise ValueError
    return float(value)


def _aspect(value: str) -> tuple[int, int]:
    width, sep, height = value.partition(":")
    if not sep or not _WHOLE.fullmatch(width) or not _WHOLE.fullmatch(height):
        raise ValueError
    w, h = int(width), int(height)
    if w == 0 or h == 0 or max(w / h, h / w) > MAX_RATIO:
        raise ValueError
    return w, h


def _negative(value: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in value.split(",") if item.strip())
    if not items:
        raise ValueError
    return items


def _word(value: str) -> str:
    if not value or any(char.isspace() for char in value):
        raise ValueError
    return value.lower()


def _niji(value: str) -> str:
    return "niji" + (_word(value) if value else "")


MAX_REFERENCES = 5


def _links(most: int) -> Callable[[str], tuple[str, ...]]:
    """Reference image links: http(s) with a host (Discord's `<url>` form too), at most `most`."""

    def read(value: str) -> tuple[str, ...]:
        links = tuple(word.removeprefix("<").removesuffix(">") for word in value.split())
        if not links:
            raise ValueError
        for link in links:
            try:
                parts = urlsplit(link)
                host = parts.hostname
            except ValueError:
                host = None
                parts = None
            if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
                raise InvalidLink(f"`{_shorten(link)}` is not an http(s) link to an image.")
        if len(links) > most:
            raise InvalidLink(
                f"At most {most} reference image{'s' if most > 1 else ''} here, not {len(links)}."
            )
        return links

    return read


def image_links(value: str, most: int = MAX_REFERENCES) -> tuple[str, ...]:
    """The http(s) links in `value` (at most `most`); raise InvalidLink naming a bad one."""
    try:
        return _links(most)(value)
    except ValueError:
        raise InvalidLink("Give an http(s) link to an image.") from None


def _motion(value: str) -> str:
    if value.lower() not in ("low", "high"):
        raise ValueError
    return value.lower()


def _batch_size(value: str) -> int:
    if value not in ("1", "2", "4"):
        raise ValueError
    return int(value)


def _flag(result: Any) -> Callable[[str], Any]:
    return lambda value: result


PARAMETERS: tuple[Parameter, ...] = (
    Parameter(
        "aspect", ("ar",), "aspect", "required", "whole numbers W:H from 1:4 to 4:1, e.g. 16:9", _aspect
    ),
    Parameter("chaos", ("c",), "chaos", "required", "a whole number from 0 to 100", _whole(0, 100)),
    Parameter("no", (), "no", "required", "a comma-separated list of things to leave out", _negative),
    Parameter("quality", ("q",), "quality", "required", ".25, .5, 1, 2 or 4", _quality),
    Parameter("repeat", ("r",), "repeat", "required", "a whole number from 2 to 40", _whole(2, 40)),
    Parameter("seed", (), "seed", "required", "a whole number from 0 to 4294967295", _whole(0, 2**32 - 1)),
    Parameter("stop", (), "stop", "required", "a whole number from 10 to 100", _whole(10, 100)),
    Parameter("stylize", ("s",), "stylize", "required", "a whole number from 0 to 1000", _whole(0, 1000)),
    Parameter("style", (), "style", "required", "raw or the name of a style preset", _word),
    Parameter("tile", (), "tile", "none", "no value", _flag(True)),
    Parameter("version", ("v",), "model", "required", "a model version from MODEL_ALIASES", _word),
    Parameter("niji", (), "model", "optional", "nothing or a niji version", _niji),
    Parameter("weird", ("w",), "weird", "required", "a whole number from 0 to 3000", _whole(0, 3000)),
    Parameter("iw", (), "image_weight", "required", "a number from 0 to 3", _number(0.0, 3.0)),
    Parameter(
        "sref",
        (),
        "style_refs",
        "required",
        "image links, style codes or random (style reference)",
        read_style_refs,
    ),
    Parameter("sw", (), "style_weight", "required", "a whole number from 0 to 1000", _whole(0, 1000)),
    Parameter(
        "cref", (), "character_refs", "required", "image links (character reference)", _links(MAX_REFERENCES)
    ),
    Parameter("cw", (), "character_weight", "required", "a whole number from 0 to 100", _whole(0, 100)),
    Parameter("oref", (), "object_refs", "required", "one image link (object reference)", _links(1)),
    Parameter("ow", (), "object_weight", "required", "a whole number from 0 to 1000", _whole(0, 1000)),
    Parameter("fast", (), "speed", "none", "no value", _flag("fast")),
    Parameter("relax", (), "speed", "none", "no value", _flag("relax")),
    Parameter("turbo", (), "speed", "none", "no value", _flag("turbo")),
    Parameter("draft", (), "draft", "none", "no value", _flag(True)),
    Parameter("hd", (), "definition", "none", "no value", _flag("hd")),
    Parameter("sd", (), "definition", "none", "no value", _flag("sd")),
    Parameter("zoom", (), "zoom", "required", "a number from 1 to 2", _number(1.0, 2.0)),
    Parameter("raw", (), "style", "none", "no value", _flag("raw")),
    Parameter("exp", (), "exp", "required", "a whole number from 0 to 100", _whole(0, 100)),
    Parameter("sv", (), "style_version", "required", "a whole number from 1 to 7", _whole(1, 7)),
    Parameter(
        "personalize", ("p", "profile"), "profiles", "optional", "nothing or profile codes", read_profiles
    ),
    Parameter("edit", (), "edit_link", "required", "one image link (the image to edit)", _links(1)),
    # Video (bot/engine/video_spec.py): animate the prompt's image link.
    Parameter("video", (), "video", "none", "no value", _flag(True)),
    Parameter("motion", (), "motion", "required", "low or high", _motion),
    Parameter("loop", (), "loop", "none", "no value", _flag(True)),
    Parameter("end", (), "end", "required", "one image link (the end frame)", _links(1)),
    Parameter("bs", (), "video_batch", "required", "1, 2 or 4 (videos per job)", _batch_size),
)

_BY_NAME = {name: parameter for parameter in PARAMETERS for name in parameter.names}
PARAMETER_NAMES = frozenset(_BY_NAME)


def normalise_dashes(text: str) -> str:
    """An em dash starting a word counts as `--` (`—ar 16:9` → `--ar 16:9`)."""
    return _EM_DASH.sub("--", text)


def split_parameters(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split `text --a 1 --b x y` into ("text", [("a", "1"), ("b", "x y")]); names as typed."""
    starts = [match.start() for match in PARAMETER_START.finditer(text)]
    if not starts:
        return text.strip(), []
    pairs = []
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        chunk = text[start + 2 : end].strip()
        name, *rest = chunk.split(maxsplit=1)
        pairs.append((name, " ".join(rest[0].split()) if rest else ""))
    return text[: starts[0]].strip(), pairs


@dataclass(frozen=True)
class ParsedParameters:
    """Parameter values by key (`aspect`, `chaos`, `model`, `speed`, …); `no` is kept apart."""

    values: dict[str, Any]
    negatives: tuple[str, ...] = ()


def read_parameters(
    pairs: Iterable[tuple[str, str]], *, extra_names: Iterable[str] = (), source: str = ""
) -> ParsedParameters:
    """Validate (name, value) pairs. Later values win; `--no` lists add up.

    `extra_names` (e.g. personal option names) only feed the "did you mean" suggestion. `source`
    says where the parameters came from, for the error message ("your /settings defaults").
    """
    values: dict[str, Any] = {}
    negatives: list[str] = []
    for typed_name, value in pairs:
        name = typed_name.lower()
        parameter = _BY_NAME.get(name)
        if parameter is None:
            raise InvalidParameter(_unknown_message(typed_name, extra_names, source))
        if parameter.takes_value == "none" and value:
            raise InvalidParameter(
                f"`--{typed_name}` takes no value, but `{_shorten(value)}` follows it. "
                f"Parameters go at the end of the prompt.{_from(source)}"
            )
        if parameter.takes_value == "required" and not value:
            raise InvalidParameter(f"`--{typed_name}` needs a value: {parameter.allowed}.{_from(source)}")
        try:
            result = parameter.read(value)
        except ValueError:
            raise _invalid(typed_name, value, parameter, source) from None
        if parameter.key == "no":
            negatives.extend(result)
        else:
            values[parameter.key] = result
    return ParsedParameters(values, tuple(negatives))


def closest_name(name: str, candidates: Iterable[str]) -> str | None:
    """The known name closest to a typo (`stylise` → `stylize`), or None."""
    matches = difflib.get_close_matches(name.lower(), sorted(set(candidates)), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _unknown_message(name: str, extra_names: Iterable[str], source: str) -> str:
    glued = _GLUED_VALUE.fullmatch(name.lower())
    if glued and glued.group(1) in PARAMETER_NAMES:
        # `--ar16:9`, `--s250`: the value was typed without its space.
        hint = f" Did you mean `--{glued.group(1)} {name[len(glued.group(1)) :]}`?"
    else:
        suggestion = closest_name(name, [*PARAMETER_NAMES, *extra_names])
        hint = f" Did you mean `--{suggestion}`?" if suggestion else ""
    return f"Unrecognized parameter `--{name}`.{hint}{_from(source)}"


def _invalid(name: str, value: str, parameter: Parameter, source: str) -> InvalidParameter:
    shown = _shorten(value)
    hint = ""
    if " " in value:
        hint = " Parameters go at the end of the prompt."
    return InvalidParameter(
        f"Invalid value `{shown}` for `--{name}`: expected {parameter.allowed}.{hint}{_from(source)}"
    )


def _shorten(value: str) -> str:
    return value if len(value) <= 60 else value[:57] + "…"


def _from(source: str) -> str:
    return f" (from {source})" if source else ""
