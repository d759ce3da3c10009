"""`expand_prompt`: an /imagine text → one resolved `ImagineRequest` per permutation × --repeat.

The steps, in order:
1. Clean the text (length limit, control characters) and turn a word-leading `—` into `--`.
2. Expand personal `--name` options in place (one level; built-in parameters win over them).
3. Expand permutation groups of the prompt and of the personal suffix (at most 40 jobs in all).
4. Per permutation: image URLs off the front, parameters off the end, parameter layers merged
   (style preset < /settings defaults < suffix < typed), the style preset applied, multi-prompt
   weights read, and the Stable Diffusion settings derived (mapping.py, sizes.py).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from bot.engine.family import ModelFamily
from bot.engine.request import WeightedPrompt
from bot.errors import EmptyPrompt, InvalidLink, InvalidParameter, InvalidPrompt
from bot.prompt import mapping
from bot.prompt.context import PromptContext, StylePreset
from bot.prompt.multiprompt import split_multiprompt
from bot.prompt.params import (
    PARAMETER_NAMES,
    ParsedParameters,
    closest_name,
    normalise_dashes,
    read_parameters,
    split_parameters,
)
from bot.prompt.permutations import expand_permutations
from bot.prompt.personal_params import RANDOM_STYLE, style_ref_link
from bot.prompt.request import ImagineRequest
from bot.prompt.sizes import hd_size, size_for_aspect
from bot.prompt.video import check_video

MAX_JOBS = 40
MAX_PROMPT_LENGTH = 6000
MAX_IMAGES = 5
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINK = re.compile(r"<?[A-Za-z][A-Za-z0-9+.-]*://\S*")
_OPTION = re.compile(r"(?<![^\s{,])--([^\s{},\\]+)(?=[\s},]|$)")
_SREF_CHUNK = re.compile(r"(?<!\S)--sref\s(?:(?!\s--\S).)*", re.IGNORECASE)
_RANDOM_WORD = re.compile(r"(?<!\S)random(?=::|\s|$)", re.IGNORECASE)
# `--sref random` picks a style code in 1..this (what Discord shows fits a seed's range).
MAX_RANDOM_STYLE_CODE = 2**32 - 1


def pick_style_code() -> int:
    """A random style code for `--sref random` (not reproducible; the job records it)."""
    return random.SystemRandom().randint(1, MAX_RANDOM_STYLE_CODE)


def expand_prompt(
    text: str,
    context: PromptContext,
    *,
    custom_zoom: bool = False,
    pick_style: Callable[[], int] = pick_style_code,
) -> list[ImagineRequest]:
    """Every job `text` asks for, resolved against `context`.

    `--zoom` is accepted only with `custom_zoom` (the Custom Zoom button's prompt), as Midjourney.
    `--sref random` gets a code from `pick_style` per job (each permutation and repeat its own);
    the job's `display_prompt` shows the code instead of `random`, so it can be reused.
    Raises only user-facing errors: InvalidParameter, InvalidPrompt, EmptyPrompt, InvalidLink.
    """
    typed = _expand_options(_clean(text), context.options)
    suffix = _expand_options(_clean(context.suffix), context.options)
    typed_variants = expand_permutations(typed, MAX_JOBS)
    suffix_variants = expand_permutations(suffix, MAX_JOBS)
    if len(typed_variants) * len(suffix_variants) > MAX_JOBS:
        raise InvalidPrompt(
            f"The permutations of this prompt and your suffix make more than {MAX_JOBS} jobs."
        )
    defaults = _parameters_only(context.user_defaults, "your /settings defaults", context)
    requests: list[ImagineRequest] = []
    for typed_variant in typed_variants:
        for suffix_variant in suffix_variants:
            requests.extend(_resolve(typed_variant, suffix_variant, defaults, context, pick_style))
            if len(requests) > MAX_JOBS:
                raise InvalidPrompt(
                    f"This prompt makes more than {MAX_JOBS} jobs (permutations × --repeat); "
                    f"the limit is {MAX_JOBS}."
                )
    if not custom_zoom and any(request.zoom is not None for request in requests):
        raise InvalidParameter("`--zoom` only works with Custom Zoom (the button under a single image).")
    return requests


def _clean(text: str) -> str:
    if len(text) > MAX_PROMPT_LENGTH:
        raise InvalidPrompt(f"The prompt is {len(text)} characters long; the limit is {MAX_PROMPT_LENGTH}.")
    return normalise_dashes(_CONTROL.sub(" ", text))


def _expand_options(text: str, options: dict[str, str]) -> str:
    """Replace personal `--name` options by their text (built-in parameter names are never options)."""
    table = {name.lower().lstrip("-"): value for name, value in options.items()}
    table = {name: value for name, value in table.items() if name and name not in PARAMETER_NAMES}
    if not table:
        return text

    def replace(match: re.Match[str]) -> str:
        value = table.get(match.group(1).lower())
        return normalise_dashes(_CONTROL.sub(" ", value)) if value is not None else match.group(0)

    expanded = _OPTION.sub(replace, text)
    if len(expanded) > 4 * MAX_PROMPT_LENGTH:
        raise InvalidPrompt("The prompt is too long once your options are filled in.")
    return expanded


def _parameters_only(text: str, source: str, context: PromptContext) -> ParsedParameters:
    words, pairs = split_parameters(normalise_dashes(_CONTROL.sub(" ", text)))
    if words:
        raise InvalidParameter(f"`{words[:60]}` is not a parameter (from {source}).")
    return read_parameters(pairs, extra_names=context.options, source=source)


def _split_image_urls(text: str) -> tuple[tuple[str, ...], str]:
    """Image URLs at the front of `text` (Discord's `<url>` form too) and the rest."""
    words = text.split()
    urls: list[str] = []
    while words and _LINK.fullmatch(words[0]):
        url = words.pop(0).removeprefix("<").removesuffix(">")
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            raise InvalidLink(f"`{url[:80]}` is not a valid link.") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise InvalidLink(f"`{url[:80]}`: only http:// and https:// links can be image prompts.")
        if not host:
            raise InvalidLink(f"`{url[:80]}` is not a valid link.")
        urls.append(url)
    if len(urls) > MAX_IMAGES:
        raise InvalidPrompt(f"A prompt can have at most {MAX_IMAGES} image links, this one has {len(urls)}.")
    return tuple(urls), " ".join(words)


def _resolve(
    typed: str,
    suffix: str,
    defaults: ParsedParameters,
    context: PromptContext,
    pick_style: Callable[[], int],
) -> list[ImagineRequest]:
    # 1. Image URLs off the front, parameters off the end; the suffix's text follows the prompt's.
    urls, rest = _split_image_urls(typed)
    typed_text, typed_pairs = split_parameters(rest)
    suffix_text, suffix_pairs = split_parameters(suffix)
    typed_params = read_parameters(typed_pairs, extra_names=context.options)
    suffix_params = read_parameters(suffix_pairs, extra_names=context.options, source="your suffix")
    text = " ".join(f"{typed_text} {suffix_text}".split())

    # 2. Parameter layers, weakest first; the style preset's own params are the weakest of all.
    values: dict[str, Any] = {**defaults.values, **suffix_params.values, **typed_params.values}
    video = check_video(values, urls)
    preset = _style_preset(values.get("style", ""), context)
    preset_params = ParsedParameters({})
    if preset is not None:
        preset_params = _parameters_only(preset.params, f"style {preset.name}", context)
        values = {**preset_params.values, **values, "style": preset.name}
    negatives = [
        *typed_params.negatives,
        *suffix_params.negatives,
        *defaults.negatives,
        *preset_params.negatives,
        *([preset.negative] if preset is not None and preset.negative.strip() else []),
    ]

    # 3. The text: multi-prompt parts, emptiness, the style template.
    parts = split_multiprompt(text)
    content = " ".join(part.text for part in parts) if "::" in text else text
    if not content and not video:
        if len(urls) == 1:
            raise InvalidPrompt("An image prompt needs some text, or at least two images to blend.")
        if not urls:
            raise EmptyPrompt("There is nothing to imagine: the prompt has no text.")
    styled = preset is not None and bool(content)
    prompt = preset.apply(text) if styled else text
    weighted = tuple(
        WeightedPrompt(preset.apply(part.text), part.weight) if styled and part.weight > 0 else part
        for part in parts
    )
    weird = values.get("weird", 0)
    extra_part = mapping.weird_part(weird)
    if extra_part is not None:
        weighted = (*(weighted or (WeightedPrompt(prompt, 1.0),)), extra_part)

    # 4. The model (--v / --niji) and the settings derived from the parameters.
    version = values.get("model", "")
    model, family, version_note = _model_for_version(version, context)
    aspect = values.get("aspect", (1, 1))
    width, height = size_for_aspect(aspect, family)
    definition = values.get("definition", "sd")
    hires_from = None
    if definition == "hd":
        (width, height), hires_from = hd_size(aspect, family)
    stylize = values.get("stylize", mapping.DEFAULT_STYLIZE)
    quality = values.get("quality", 1.0)
    image_weight = values.get("image_weight", 1.0)
    style_weight = values.get("style_weight", mapping.DEFAULT_STYLE_WEIGHT)
    character_weight = values.get("character_weight", 100)
    object_weight = values.get("object_weight", 100)
    style = values.get("style", "")
    style_items = _weighted_style_items(values.get("style_refs", ()))
    steps = mapping.steps_for_quality(quality, family, context.steps_override)
    guidance = mapping.guidance_for_stylize(stylize, family)
    style_loras = preset.loras if preset is not None else ()
    draft = bool(values.get("draft", False))
    recipe = mapping.draft_recipe(steps, guidance, family, context.draft_lora) if draft else None
    negative_prompt = ", ".join(dict.fromkeys(item.strip() for item in negatives if item.strip()))
    notes = [
        version_note,
        recipe.note if recipe else "",
        mapping.family_note(
            family, negative_prompt, values.get("exp", 0), recipe.guidance_scale if recipe else guidance
        ),
    ]
    request = ImagineRequest(
        prompt=prompt,
        display_prompt=" ".join(f"{typed} {suffix}".split()),
        negative_prompt=negative_prompt,
        image_urls=urls,
        weighted_prompts=weighted,
        aspect=aspect,
        width=width,
        height=height,
        seed=values.get("seed"),
        chaos=values.get("chaos", 0),
        stylize=stylize,
        quality=quality,
        stop=values.get("stop", 100),
        tile=values.get("tile", False),
        style=style,
        raw=style == "raw",
        weird=weird,
        image_weight=image_weight,
        style_refs=tuple(item for item in style_items if style_ref_link(item)),
        style_codes=tuple(int(item) for item in style_items if item.isdigit()),
        style_version=values.get("style_version", 6),
        profiles=tuple((code.code, code.weight) for code in values.get("profiles", ())),
        personalization_scale=mapping.personalization_scale(stylize) if values.get("profiles") else 0.0,
        exp=values.get("exp", 0),
        style_weight=style_weight,
        character_refs=values.get("character_refs", ()),
        character_weight=character_weight,
        object_refs=values.get("object_refs", ()),
        object_weight=object_weight,
        speed=values.get("speed", "fast"),
        zoom=values.get("zoom"),
        edit_link=_edit_link(values, urls),
        version=version,
        model=model,
        family=family.name,
        draft=draft,
        steps=recipe.steps if recipe else steps,
        guidance_scale=recipe.guidance_scale if recipe else guidance,
        image_strength=mapping.image_strength_for_weight(image_weight),
        image_prompt_scale=mapping.image_prompt_scale(image_weight),
        style_scale=mapping.style_scale(style_weight),
        character_scale=mapping.reference_scale(character_weight),
        object_scale=mapping.object_scale(object_weight),
        sampler=recipe.sampler if recipe else "",
        loras=(*style_loras, (recipe.lora, 1.0)) if recipe and recipe.lora else style_loras,
        full_steps=steps if recipe else 0,
        full_guidance=guidance if recipe else 0.0,
        full_loras=style_loras if recipe else (),
        draft_note=" ".join(note for note in notes if note),
        definition=definition,
        hires_from=hires_from,
        video=video,
        motion=values.get("motion", "low"),
        loop=values.get("loop", False),
        end_url=values.get("end", ("",))[0],
        video_batch=values.get("video_batch", 4),
    )
    repeats = values.get("repeat", 1)
    items = values.get("style_refs", ())
    return [_with_style_codes(replace(request, repeat=index), items, pick_style) for index in range(repeats)]


def _weighted_style_items(items: tuple[tuple[str, float], ...]) -> list[str]:
    """`--sref` items with their `::w` weights applied as repeats (mapping.weighted_repeats)."""
    return [item for item, weight in items for _ in range(mapping.weighted_repeats(weight))]


def _with_style_codes(
    request: ImagineRequest, items: tuple[tuple[str, float], ...], pick_style: Callable[[], int]
) -> ImagineRequest:
    """`request` with its `--sref` codes in typed order, a picked code for each `random`.

    The picked codes replace `random` in the display prompt, so the prompt reproduces the job.
    """
    picked = [pick_style() for item, _ in items if item == RANDOM_STYLE]
    if not picked:
        return request
    pending = iter(picked)
    resolved = tuple((str(next(pending)) if item == RANDOM_STYLE else item, weight) for item, weight in items)
    codes = tuple(int(item) for item in _weighted_style_items(resolved) if item.isdigit())
    shown = request.display_prompt
    chunks = list(_SREF_CHUNK.finditer(shown))
    if chunks and len(_RANDOM_WORD.findall(chunks[-1].group(0))) == len(picked):
        pending = iter(picked)
        chunk = _RANDOM_WORD.sub(lambda _: str(next(pending)), chunks[-1].group(0))
        shown = shown[: chunks[-1].start()] + chunk + shown[chunks[-1].end() :]
    return replace(request, style_codes=codes, display_prompt=shown)


def _style_preset(style: str, context: PromptContext) -> StylePreset | None:
    """The preset `--style` names, else the server default (unless `--style raw`)."""
    presets = {name.lower(): preset for name, preset in context.presets.items()}
    if style == "raw":
        return None
    if style:
        if style not in presets:
            suggestion = closest_name(style, ["raw", *presets])
            hint = f" Did you mean `{suggestion}`?" if suggestion else ""
            choices = ", ".join(["raw", *sorted(presets)])
            raise InvalidParameter(f"Unknown style `--style {style}`: expected one of {choices}.{hint}")
        return presets[style]
    default = (context.default_style or "").lower()
    return presets.get(default) if default else None


# Midjourney's own version numbers: a prompt pasted from a guide names one of these. Without a
# MODEL_ALIASES entry for it, the image is made by the default model (and the member is told so).
MIDJOURNEY_VERSIONS = frozenset(
    {"1", "2", "3", "4", "5", "5.0", "5.1", "5.2", "6", "6.0", "6.1", "7", "8", "8.0"}
)
NIJI_VERSIONS = frozenset({"", "4", "5", "6", "7"})


def _model_for_version(version: str, context: PromptContext) -> tuple[str, ModelFamily, str]:
    """MODEL_ALIASES target, family and a note for a `--v`/`--niji` key ("" → the default model).

    A version Midjourney has (`--v 7`, `--niji 6`) that no alias names falls back to the default
    model with a note; anything else is Midjourney's "Unknown model version"."""
    if not version:
        return "", context.family, ""
    aliases = {name.lower(): model for name, model in context.model_aliases.items()}
    niji = version.startswith("niji")
    key = version if version in aliases or not niji else "niji"
    flag = "--niji" if niji else "--v"
    shown = f"{flag} {version.removeprefix('niji') if niji else version}".strip()
    if key in aliases:
        return aliases[key], context.alias_families.get(key, context.family), ""
    known = NIJI_VERSIONS if niji else MIDJOURNEY_VERSIONS
    if version.removeprefix("niji") in known:
        return (
            "",
            context.family,
            f"`{shown}` uses this server's default model (no MODEL_ALIASES entry for it).",
        )
    available = ", ".join(sorted(aliases)) or "none are set up (MODEL_ALIASES)"
    raise InvalidParameter(f"Unknown model version `{shown}`: available: {available}.")


def _edit_link(values: dict, urls: tuple[str, ...] | list[str]) -> str:
    """`--edit <link>`: the one image to edit (not with image prompts or references)."""
    links = values.get("edit_link", ())
    if not links:
        return ""
    if urls or any(values.get(name) for name in ("style_refs", "character_refs", "object_refs")):
        raise InvalidParameter("`--edit` edits one image: leave out image prompts and references.")
    return links[0]
