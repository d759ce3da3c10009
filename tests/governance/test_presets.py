"""Style presets: the starter set, validation rules, and the /style export/import JSON format."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.errors import InvalidParameter, InvalidPrompt
from bot.governance.banned_words import BannedWords
from bot.governance.presets import (
    EXPORT_FORMAT,
    MAX_PRESETS_PER_FILE,
    STARTER_PRESETS,
    preset_name,
    presets_from_json,
    presets_to_json,
    validate_preset,
)
from bot.prompt import PromptContext, StylePreset, expand_prompt

ALIASED = PromptContext(model_aliases={"6": "org/model-six"})


@pytest.mark.parametrize("preset", STARTER_PRESETS, ids=lambda preset: preset.name)
def test_starter_presets_are_valid_as_shipped(preset: StylePreset) -> None:
    """Each starter preset passes validation unchanged, wraps the prompt, and passes the default filter."""
    assert validate_preset(preset) == preset
    assert "{prompt}" in preset.template and preset.negative and preset.params
    BannedWords.with_defaults().check(f"{preset.template} {preset.negative} {preset.params}")


def test_starter_presets_have_distinct_names() -> None:
    """A guild can import them all at once: no two share a name."""
    names = [preset.name for preset in STARTER_PRESETS]
    assert len(names) == len(set(names)) >= 6


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a lighthouse --style neon-noir", {"aspect": (16, 9), "stylize": 400, "style": "neon-noir"}),
        ("a lighthouse --style neon-noir --ar 1:1", {"aspect": (1, 1), "stylize": 400}),
        ("a lighthouse --style photo --s 600", {"aspect": (3, 2), "stylize": 600}),
        ("a lighthouse --style pixel-art", {"aspect": (1, 1), "stylize": 150}),
    ],
)
def test_starter_presets_work_in_imagine(text: str, expected: dict) -> None:
    """Imported starters apply with `--style`; the user's own parameters beat the preset's."""
    context = PromptContext(presets={preset.name: preset for preset in STARTER_PRESETS})
    (request,) = expand_prompt(text, context)
    assert {field: getattr(request, field) for field in expected} == expected
    assert "a lighthouse" in request.prompt and request.prompt != "a lighthouse"
    assert request.negative_prompt


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("neon", "neon"),
        ("Neon-Noir", "neon-noir"),
        (" pixel_art ", "pixel_art"),
        ("v2", "v2"),
        ("a" * 32, "a" * 32),
    ],
)
def test_valid_preset_names(name: str, expected: str) -> None:
    """Names are one word, stored in lower case (`--style` is case-insensitive)."""
    assert preset_name(name) == expected


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("two words", "one word"),
        ("", "one word"),
        ("-dash", "starting with a letter"),
        ("a/b", "one word"),
        ("néon", "one word"),
        ("a" * 33, "up to 32"),
        ("raw", "reserved"),
        ("RAW", "reserved"),
        ("none", "reserved"),
    ],
)
def test_invalid_preset_names(name: str, match: str) -> None:
    """Spaces, symbols, overlong names and `raw`/`none` are refused with the rule spelled out."""
    with pytest.raises(InvalidParameter, match=match):
        preset_name(name)


@pytest.mark.parametrize(
    ("preset", "error", "match"),
    [
        (StylePreset("x", "{promt}, glow"), InvalidPrompt, r"`\{promt\}`.*only placeholder"),
        (StylePreset("x", "a { b"), InvalidPrompt, "only placeholder"),
        (StylePreset("x", "{prompt} --ar 2:1"), InvalidPrompt, "template can't contain parameters"),
        (StylePreset("x", "{prompt}:: glow::2"), InvalidPrompt, "multi-prompt"),
        (
            StylePreset("x", "{prompt}", "blurry --s 5"),
            InvalidPrompt,
            "negative prompt can't contain parameters",
        ),
        (StylePreset("x", "{prompt}", "{a, b}"), InvalidPrompt, "negative prompt"),
        (StylePreset("x", "w" * 1001), InvalidPrompt, "limit is 1000"),
        (StylePreset("x", "{prompt}", "n" * 501), InvalidPrompt, "limit is 500"),
        (StylePreset("x", "{prompt}", "", "--s 5 " * 60), InvalidParameter, "limit is 300"),
        (
            StylePreset("x", "{prompt}", "", "glow --ar 2:1"),
            InvalidParameter,
            "`glow` is not a parameter.*style x",
        ),
        (
            StylePreset("x", "{prompt}", "", "--ar 9:1"),
            InvalidParameter,
            "Invalid value `9:1` for `--ar`.*style x",
        ),
        (StylePreset("x", "{prompt}", "", "--stylise 300"), InvalidParameter, "Did you mean `--stylize`"),
        (StylePreset("x", "{prompt}", "", "--style cinematic"), InvalidParameter, "can't set `--style`"),
        (StylePreset("x", "{prompt}", "", "—style cinematic"), InvalidParameter, "can't set `--style`"),
        (StylePreset("x", "{prompt}", "", "--v 9"), InvalidParameter, "Style `x`: Unknown model version"),
        (StylePreset("Bad Name", "{prompt}"), InvalidParameter, "one word"),
    ],
)
def test_invalid_presets_are_refused_with_a_clear_reason(
    preset: StylePreset, error: type, match: str
) -> None:
    """Each broken part of a preset gets its own message, naming the preset."""
    with pytest.raises(error, match=match):
        validate_preset(preset, ALIASED)


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        (StylePreset("Neon", " {prompt},\n neon   glow "), StylePreset("neon", "{prompt}, neon glow")),
        (StylePreset("x", "  ", " a\n b ", " --ar   2:1 "), StylePreset("x", "{prompt}", "a b", "--ar 2:1")),
        (StylePreset("x", "{prompt} and {prompt}"), StylePreset("x", "{prompt} and {prompt}")),
        (
            StylePreset("x", "line art", "", "--v 6 --no color"),
            StylePreset("x", "line art", "", "--v 6 --no color"),
        ),
    ],
)
def test_valid_presets_come_back_tidied(preset: StylePreset, expected: StylePreset) -> None:
    """Whitespace collapses, names fold to lower case, an empty template means just the prompt."""
    assert validate_preset(preset, ALIASED) == expected


def test_template_without_placeholder_is_appended_like_imagine_does() -> None:
    """A template with no `{prompt}` is allowed, and /imagine appends it after the prompt."""
    preset = validate_preset(StylePreset("ink", "ink drawing, crosshatching"))
    (request,) = expand_prompt("a fox --style ink", PromptContext(presets={"ink": preset}))
    assert request.prompt == "a fox, ink drawing, crosshatching"


def test_model_versions_are_checked_against_the_servers_context() -> None:
    """`--v 6` in a preset is fine where alias 6 exists, and also where it doesn't (a Midjourney
    version falls back to the default model); a version Midjourney never had is refused."""
    preset = StylePreset("six", "{prompt}", "", "--v 6")
    assert validate_preset(preset, ALIASED) == preset
    assert validate_preset(preset) == preset
    with pytest.raises(InvalidParameter, match="Unknown model version"):
        validate_preset(StylePreset("odd", "{prompt}", "", "--v 6.5"))


def test_validation_ignores_the_users_personal_layers() -> None:
    """A context carrying someone's broken suffix or options does not fail a good preset."""
    messy = replace(ALIASED, suffix="--chaos 500", user_defaults="--s 5000", options={"x": "--bad"})
    preset = StylePreset("fine", "{prompt}, glow", "", "--ar 2:1")
    assert validate_preset(preset, messy) == preset


@pytest.mark.parametrize(
    "presets",
    [STARTER_PRESETS, {preset.name: preset for preset in STARTER_PRESETS}],
    ids=["sequence", "mapping"],
)
def test_export_format(presets) -> None:
    """Exports carry the format name, version 1 and each preset's four fields, in order."""
    document = json.loads(presets_to_json(presets))
    assert (document["format"], document["version"]) == (EXPORT_FORMAT, 1)
    assert [StylePreset(**item) for item in document["presets"]] == list(STARTER_PRESETS)


def test_export_keeps_unicode_readable() -> None:
    """Accents and emoji are written as themselves, so a shared file reads well."""
    text = presets_to_json([StylePreset("neo", "{prompt}, néon 🌃")])
    assert "néon 🌃" in text
    assert presets_from_json(text) == [StylePreset("neo", "{prompt}, néon 🌃")]


@pytest.mark.parametrize("as_bytes", [False, True])
def test_export_then_import_gives_the_same_presets(as_bytes: bool) -> None:
    """An export imports back unchanged, from text or from an attachment's bytes."""
    text = presets_to_json(STARTER_PRESETS)
    assert presets_from_json(text.encode("utf-8-sig") if as_bytes else text) == list(STARTER_PRESETS)


def test_import_tidies_presets_and_ignores_unknown_keys() -> None:
    """Imported presets are normalised like /style add ones; keys from newer exports are skipped."""
    document = {
        "version": 1,
        "presets": [
            {"name": "Glow", "template": "{prompt},  glow", "author": "someone", "params": "--s 300"}
        ],
        "exported_by": "another bot",
    }
    assert presets_from_json(json.dumps(document)) == [StylePreset("glow", "{prompt}, glow", "", "--s 300")]


def _doc(presets: object, version: object = 1) -> str:
    return json.dumps({"format": EXPORT_FORMAT, "version": version, "presets": presets})


GOOD = {"name": "glow", "template": "{prompt}, glow"}


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("{not json", InvalidPrompt, r"not valid JSON \(line 1"),
        ("[]", InvalidPrompt, "needs a `presets` list"),
        (json.dumps({"presets": [GOOD]}), InvalidPrompt, "`version` is missing"),
        (_doc([GOOD], version="1"), InvalidPrompt, "`version` is missing"),
        (_doc([GOOD], version=True), InvalidPrompt, "`version` is missing"),
        (_doc([GOOD], version=2), InvalidPrompt, "version 2; this bot reads version 1"),
        (_doc([GOOD], version=0), InvalidPrompt, "unknown preset format version 0"),
        (_doc({"glow": GOOD}), InvalidPrompt, "must be a list"),
        (_doc([]), InvalidPrompt, "no presets"),
        (_doc([GOOD] * (MAX_PRESETS_PER_FILE + 1)), InvalidPrompt, f"at most {MAX_PRESETS_PER_FILE}"),
        (_doc(["glow"]), InvalidPrompt, "Preset 1 in the file is not an object"),
        (_doc([{"template": "{prompt}"}]), InvalidPrompt, "Preset 1 in the file has no name"),
        (
            _doc([GOOD, {"name": "x", "template": 5}]),
            InvalidPrompt,
            "Preset 2 in the file: `template` must be text",
        ),
        (_doc([GOOD, {"name": "GLOW", "template": "{prompt}"}]), InvalidPrompt, "`glow` twice"),
        (
            _doc([GOOD, {"name": "raw", "template": "{prompt}"}]),
            InvalidParameter,
            "Preset 2 in the file: `raw` is reserved",
        ),
        (
            _doc([{"name": "x", "template": "{prompt}", "params": "--ar 9:1"}]),
            InvalidParameter,
            "Preset 1.*--ar",
        ),
        (_doc([GOOD]) + " " * 300_000, InvalidPrompt, "too large"),
        ("[" * 100_000 + "]" * 100_000, InvalidPrompt, "nests too deeply|not a style preset export"),
    ],
)
def test_bad_import_files_are_refused_with_a_clear_reason(text: str, error: type, match: str) -> None:
    """A broken file imports nothing and says what is wrong, naming the preset by position."""
    with pytest.raises(error, match=match):
        presets_from_json(text)


def test_non_utf8_attachment_is_refused() -> None:
    """An attachment that is not UTF-8 text gets a clear error, not a decoding traceback."""
    with pytest.raises(InvalidPrompt, match="not UTF-8"):
        presets_from_json(b"\xff\xfe\x00{")


def test_presets_with_loras_are_checked_exported_and_imported(tmp_path):
    """A preset's LoRAs must exist in models/loras/ and fit the model; they survive export/import."""
    from bot.engine.family import SDXL, TINY
    from bot.errors import InvalidParameter
    from bot.governance.presets import presets_from_json, presets_to_json, validate_preset
    from bot.prompt import PromptContext, StylePreset

    loras_dir = tmp_path / "loras"
    loras_dir.mkdir()
    header = b'{"unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight":'
    header += b'{"dtype":"F32","shape":[4,32],"data_offsets":[0,512]}}'
    (loras_dir / "grain.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + bytes(512))
    context = PromptContext(family=TINY, loras_dir=loras_dir)
    preset = validate_preset(StylePreset("film", "{prompt}, film", loras=(("grain", 0.8),)), context)
    assert preset.loras == (("grain", 0.8),)
    assert presets_from_json(presets_to_json([preset]), context) == [preset]
    with pytest.raises(InvalidParameter, match="another kind of model"):
        validate_preset(preset, PromptContext(family=SDXL, loras_dir=loras_dir))
    with pytest.raises(InvalidParameter, match="no LoRA `ink`"):
        validate_preset(StylePreset("ink", "{prompt}", loras=(("ink", 1.0),)), context)
