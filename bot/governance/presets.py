"""Server style presets: the starter set, validation, and the JSON format of /style export/import.

A preset is a `bot.prompt.StylePreset`: a `template` that wraps the prompt at `{prompt}` (a
template without `{prompt}` is appended to the prompt, as `StylePreset.apply` does), a negative
prompt, and default parameters that the user's own parameters override.

`validate_preset` is the one gate: `/style add`, `/style edit` and `/style import` all go through
it. It checks the preset the way `/imagine` will use it, by expanding `test --style <name>` with
the preset in place, so parameters that would fail later fail now, with the same message.

The export format (version 1):

    {"format": "mj-discord-bot/style-presets", "version": 1,
     "presets": [{"name": "neon-noir", "template": "{prompt}, neon-noir, ...",
                  "negative": "daylight", "params": "--ar 16:9 --s 400",
                  "loras": "film-grain:0.8"}]}      (loras: optional)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from bot.engine.lora_files import LoraProblem, check_lora, format_loras, parse_loras
from bot.errors import InvalidParameter, InvalidPrompt, UserFacingError
from bot.prompt import PromptContext, StylePreset, expand_prompt
from bot.prompt.params import PARAMETER_START, normalise_dashes, split_parameters

EXPORT_FORMAT = "mj-discord-bot/style-presets"
EXPORT_VERSION = 1
MAX_NAME_LENGTH = 32
MAX_TEMPLATE_LENGTH = 1000
MAX_NEGATIVE_LENGTH = 500
MAX_PARAMS_LENGTH = 300
MAX_PRESETS_PER_FILE = 100
MAX_FILE_CHARACTERS = 256_000
# `--style raw` switches presets off and `/style default none` clears the default: neither can
# be a preset's name.
RESERVED_NAMES = frozenset({"raw", "none"})
PLACEHOLDER = "{prompt}"

_NAME = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{MAX_NAME_LENGTH - 1}}}")
_BRACED = re.compile(r"\{[^{}]*\}")

STARTER_PRESETS: tuple[StylePreset, ...] = (
    StylePreset(
        "cinematic",
        "cinematic film still of {prompt}, anamorphic lens, shallow depth of field, "
        "dramatic lighting, rich color grading, subtle film grain",
        "cartoon, illustration, flat lighting, oversaturated, text, watermark",
        "--ar 16:9 --s 250",
    ),
    StylePreset(
        "photo",
        "professional photograph of {prompt}, natural light, 50mm lens, sharp focus, "
        "true-to-life colors, fine detail",
        "painting, illustration, cartoon, cgi, overexposed, blurry, deformed",
        "--ar 3:2 --s 50",
    ),
    StylePreset(
        "anime",
        "anime illustration of {prompt}, clean line art, cel shading, vibrant colors, "
        "expressive characters, detailed background",
        "photo, photorealistic, 3d render, blurry, lowres, bad anatomy",
        "--ar 2:3 --s 200",
    ),
    StylePreset(
        "watercolor",
        "delicate watercolor painting of {prompt}, soft washes, pigment blooms, "
        "visible paper texture, loose brushwork, light airy palette",
        "photo, 3d render, harsh outlines, digital noise",
        "--s 300",
    ),
    StylePreset(
        "neon-noir",
        "{prompt}, neon-noir, rain-soaked streets at night, glowing magenta and cyan signs, "
        "deep shadows, reflections on wet asphalt, moody cinematic lighting",
        "daylight, sunny, pastel colors, flat lighting",
        "--ar 16:9 --s 400",
    ),
    StylePreset(
        "pixel-art",
        "pixel art of {prompt}, 16-bit retro game style, limited color palette, crisp pixels, "
        "clean dithering",
        "blurry, smooth gradients, photorealistic, anti-aliasing",
        "--s 150",
    ),
    StylePreset(
        "product",
        "studio product photo of {prompt}, centered on a seamless backdrop, softbox lighting, "
        "crisp reflections, commercial catalog quality",
        "clutter, people, hands, text, watermark, busy background",
        "--ar 1:1 --s 100",
    ),
    StylePreset(
        "fantasy-art",
        "epic fantasy painting of {prompt}, sweeping vistas, luminous atmosphere, intricate detail, "
        "painterly brushwork, volumetric light",
        "modern, photo, low detail, blurry",
        "--ar 3:2 --s 500",
    ),
)


def preset_name(name: str) -> str:
    """A preset's name as stored: lower case; raises InvalidParameter if it breaks the rules.

    One word of letters, digits, `-` and `_`, starting with a letter or digit, at most 32
    characters, and not `raw` or `none`.
    """
    cleaned = name.strip().lower()
    if not _NAME.fullmatch(cleaned):
        shown = name.strip()[:40] or "(empty)"
        raise InvalidParameter(
            f"`{shown}` can't be a style name: use one word of up to {MAX_NAME_LENGTH} letters, "
            "digits, `-` or `_`, starting with a letter or digit (e.g. `neon-noir`)."
        )
    if cleaned in RESERVED_NAMES:
        raise InvalidParameter(
            f"`{cleaned}` is reserved (`--style raw`, `/style default none`); pick another name."
        )
    return cleaned


def validate_preset(preset: StylePreset, context: PromptContext | None = None) -> StylePreset:
    """`preset` cleaned up (name in lower case, whitespace collapsed), or a clear error.

    `context` is the prompt context of the server (model aliases, so `--v 6` can be checked);
    without it, a plain default context is used. Raises InvalidParameter for the name and the
    parameters, InvalidPrompt for the template and negative prompt.
    """
    name = preset_name(preset.name)
    template = _one_line(preset.template) or PLACEHOLDER
    negative = _one_line(preset.negative)
    params = _one_line(preset.params)
    _check_text(name, "template", template, MAX_TEMPLATE_LENGTH)
    _check_text(name, "negative prompt", negative, MAX_NEGATIVE_LENGTH)
    stray = template.replace(PLACEHOLDER, "")
    if "{" in stray or "}" in stray:
        braced = _BRACED.search(stray)
        shown = braced.group()[:40] if braced else "{" if "{" in stray else "}"
        raise InvalidPrompt(
            f"Style `{name}`: the template has `{shown}`, but the only placeholder is "
            f"`{PLACEHOLDER}` (where the prompt goes)."
        )
    if "{" in negative or "}" in negative:
        raise InvalidPrompt(f"Style `{name}`: the negative prompt can't contain `{{` or `}}`.")
    if len(params) > MAX_PARAMS_LENGTH:
        raise InvalidParameter(
            f"Style `{name}`: the parameters are {len(params)} characters long; the limit is {MAX_PARAMS_LENGTH}."
        )
    context = context or PromptContext()
    cleaned = StylePreset(name, template, negative, params, _checked_loras(name, preset.loras, context))
    _check_params(cleaned, context)
    return cleaned


def read_loras(text: str) -> tuple[tuple[str, float], ...]:
    """`film-grain:0.8, ink` (the `loras` option of /style add) → (name, weight) pairs, or InvalidParameter."""
    try:
        return parse_loras(text)
    except LoraProblem as problem:
        raise InvalidParameter(str(problem)) from None


def _checked_loras(
    name: str, loras: tuple[tuple[str, float], ...], context: PromptContext
) -> tuple[tuple[str, float], ...]:
    """The preset's LoRAs, each found in models/loras/ and made for the model's family."""
    if not loras:
        return ()
    try:
        loras = parse_loras(format_loras(loras))
        if context.loras_dir is None:
            raise LoraProblem("this bot has no models/loras/ folder set up.")
        for lora, _weight in loras:
            check_lora(lora, context.loras_dir, context.family)
    except LoraProblem as problem:
        raise InvalidParameter(f"Style `{name}`: {problem}") from None
    return loras


def presets_to_json(presets: Iterable[StylePreset] | Mapping[str, StylePreset]) -> str:
    """The `/style export` file: the presets in the order given, as indented JSON."""
    items = presets.values() if isinstance(presets, Mapping) else presets
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "presets": [
            {"name": p.name, "template": p.template, "negative": p.negative, "params": p.params}
            | ({"loras": format_loras(p.loras)} if p.loras else {})
            for p in items
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def presets_from_json(text: str | bytes, context: PromptContext | None = None) -> list[StylePreset]:
    """The presets of a `/style export` file (text, or the attachment's bytes), each validated.

    All or nothing: the first problem raises InvalidPrompt or InvalidParameter, naming the preset
    by its position in the file. See `validate_preset` for the rules and `context`.
    """
    if isinstance(text, bytes):
        if len(text) > 4 * MAX_FILE_CHARACTERS:
            raise InvalidPrompt(
                f"The file is too large for a preset export (limit {MAX_FILE_CHARACTERS // 1000} kB)."
            )
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidPrompt("The file is not UTF-8 text; a preset export is a JSON file.") from None
    if len(text) > MAX_FILE_CHARACTERS:
        raise InvalidPrompt(
            f"The file is too large for a preset export (limit {MAX_FILE_CHARACTERS // 1000} kB)."
        )
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidPrompt(
            f"The file is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
        ) from None
    except RecursionError:
        raise InvalidPrompt("The file is not a style preset export (it nests too deeply).") from None
    items = _export_items(document)
    presets: list[StylePreset] = []
    seen: set[str] = set()
    for position, item in enumerate(items, start=1):
        preset = _preset_from_item(item, position)
        try:
            preset = validate_preset(preset, context)
        except UserFacingError as error:
            raise type(error)(f"Preset {position} in the file: {error.message}") from None
        if preset.name in seen:
            raise InvalidPrompt(f"The file has the style `{preset.name}` twice.")
        seen.add(preset.name)
        presets.append(preset)
    return presets


def _export_items(document: Any) -> list[Any]:
    if not isinstance(document, dict) or "presets" not in document:
        raise InvalidPrompt("The file is not a style preset export: it needs a `presets` list.")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidPrompt("The file is not a style preset export: its `version` is missing.")
    if version > EXPORT_VERSION:
        raise InvalidPrompt(
            f"The file is in preset format version {version}; this bot reads version {EXPORT_VERSION} "
            "and older. Export it again from an up-to-date bot."
        )
    if version < 1:
        raise InvalidPrompt(f"The file has an unknown preset format version {version}.")
    items = document["presets"]
    if not isinstance(items, list):
        raise InvalidPrompt("The file's `presets` must be a list.")
    if not items:
        raise InvalidPrompt("The file has no presets in it.")
    if len(items) > MAX_PRESETS_PER_FILE:
        raise InvalidPrompt(
            f"The file has {len(items)} presets; at most {MAX_PRESETS_PER_FILE} can be imported at once."
        )
    return items


def _preset_from_item(item: Any, position: int) -> StylePreset:
    if not isinstance(item, dict):
        raise InvalidPrompt(f"Preset {position} in the file is not an object with a name and template.")
    values: dict[str, str] = {}
    for key in ("name", "template", "negative", "params", "loras"):
        value = item.get(key, "")
        if not isinstance(value, str):
            raise InvalidPrompt(f"Preset {position} in the file: `{key}` must be text.")
        values[key] = value
    if not values["name"].strip():
        raise InvalidPrompt(f"Preset {position} in the file has no name.")
    try:
        loras = parse_loras(values.pop("loras"))
    except LoraProblem as problem:
        raise InvalidParameter(f"Preset {position} in the file: {problem}") from None
    return StylePreset(**values, loras=loras)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _check_text(name: str, what: str, text: str, limit: int) -> None:
    if len(text) > limit:
        raise InvalidPrompt(
            f"Style `{name}`: the {what} is {len(text)} characters long; the limit is {limit}."
        )
    if PARAMETER_START.search(text):
        raise InvalidPrompt(
            f"Style `{name}`: the {what} can't contain parameters (`--…`); put them in the preset's parameters."
        )
    if "::" in text:
        raise InvalidPrompt(f"Style `{name}`: the {what} can't contain multi-prompt weights (`::`).")


def _check_params(preset: StylePreset, context: PromptContext) -> None:
    """Parameters only, and valid where `/imagine` reads them: with `--style <name>`."""
    _, pairs = split_parameters(normalise_dashes(preset.params))
    if any(name.lower() == "style" for name, _ in pairs):
        raise InvalidParameter(f"Style `{preset.name}`: a preset's parameters can't set `--style`.")
    trial = replace(
        context,
        presets={preset.name: preset},
        default_style=None,
        suffix="",
        options={},
        user_defaults="",
    )
    try:
        expand_prompt(f"test --style {preset.name}", trial)
    except UserFacingError as error:
        # Most messages already end "(from style <name>)"; the others need the preset named.
        message = error.message
        if f"(from style {preset.name})" not in message:
            message = f"Style `{preset.name}`: {message}"
        raise InvalidParameter(message) from None
