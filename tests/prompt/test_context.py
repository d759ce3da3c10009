"""Personal and guild settings (suffix, options, presets, defaults) and model facts from settings."""

from __future__ import annotations

import json
import struct
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Config
from bot.engine.family import SD1, SDXL
from bot.errors import ConfigError, InvalidParameter
from bot.prompt import PromptContext, StylePreset, context_from_settings, expand_prompt

CINEMATIC = StylePreset("cinematic", "cinematic still of {prompt}, film grain", "blurry", "--ar 16:9 --s 300")
PLAIN = StylePreset("plain", "minimal line art")


@pytest.fixture
def styled(context: PromptContext) -> PromptContext:
    """The test context with two guild presets."""
    return replace(context, presets={"cinematic": CINEMATIC, "Plain": PLAIN})


def test_suffix_text_follows_the_prompt_and_its_params_yield_to_typed_ones(one, context) -> None:
    """The personal suffix is appended; a parameter typed in the prompt beats the suffix's."""
    with_suffix = replace(context, suffix="highly detailed --ar 3:2 --s 500")
    plain = one("a cat", with_suffix)
    typed = one("a cat --ar 1:1", with_suffix)
    assert (plain.prompt, plain.aspect, plain.stylize) == ("a cat highly detailed", (3, 2), 500)
    assert (typed.prompt, typed.aspect, typed.stylize) == ("a cat highly detailed", (1, 1), 500)


def test_suffix_permutations_multiply_with_the_prompt(context) -> None:
    """A permutation in the suffix multiplies the prompt's jobs."""
    with_suffix = replace(context, suffix="{oil, ink}")
    texts = [request.prompt for request in expand_prompt("{a, b} cat", with_suffix)]
    assert texts == ["a cat oil", "a cat ink", "b cat oil", "b cat ink"]


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("a cat --wide", "aspect", (21, 9)),
        ("a cat --wide", "stylize", 500),
        ("a cat --wide --s 50", "stylize", 50),
        ("a cat --WIDE", "aspect", (21, 9)),
        ("a cat --mood", "prompt", "a cat moody, dark"),
        ("a cat --s 50", "aspect", (1, 1)),
    ],
)
def test_personal_options_expand_in_place(one, context, text: str, field: str, expected: object) -> None:
    """`--name` options become their text; later parameters still win; built-ins cannot be shadowed."""
    with_options = replace(
        context, options={"wide": "--ar 21:9 --s 500", "s": "--ar 2:1", "mood": "moody\\, dark"}
    )
    assert getattr(one(text, with_options), field) == expected


def test_option_with_permutation_makes_several_jobs(context) -> None:
    """An option holding a permutation expands like typed text."""
    with_options = replace(context, options={"pair": "--ar {1:1, 2:1}"})
    assert [request.aspect for request in expand_prompt("a cat --pair", with_options)] == [(1, 1), (2, 1)]


def test_typo_of_an_option_name_suggests_it(context) -> None:
    """A misspelt personal option gets a "did you mean" with the option's name."""
    with pytest.raises(InvalidParameter, match="Did you mean `--wide`"):
        expand_prompt("a cat --wid", replace(context, options={"wide": "--ar 21:9"}))


STYLED = "cinematic still of a cat, film grain"


@pytest.mark.parametrize(
    ("text", "default_style", "user_defaults", "expected"),
    [
        ("a cat --style cinematic", None, "", {"prompt": STYLED, "aspect": (16, 9), "stylize": 300}),
        ("a cat --style CINEMATIC --s 50", None, "", {"style": "cinematic", "stylize": 50}),
        ("a cat", "cinematic", "", {"prompt": STYLED, "style": "cinematic", "negative_prompt": "blurry"}),
        ("a cat --style raw", "cinematic", "", {"prompt": "a cat", "raw": True, "aspect": (1, 1)}),
        ("a cat", "cinematic", "--style raw", {"prompt": "a cat", "style": "raw", "negative_prompt": ""}),
        ("a cat", "cinematic", "--s 250 --no fur", {"stylize": 250, "negative_prompt": "fur, blurry"}),
        (
            "a cat --s 10 --no dogs",
            "cinematic",
            "--s 250 --no fur",
            {"stylize": 10, "negative_prompt": "dogs, fur, blurry"},
        ),
        ("a cat --style plain", None, "", {"prompt": "a cat, minimal line art", "style": "plain"}),
        ("a cat", "missing", "", {"prompt": "a cat", "style": "", "raw": False}),
    ],
)
def test_style_presets_and_default_layers(one, styled, text, default_style, user_defaults, expected) -> None:
    """Preset params < /settings defaults < typed; `--style raw` turns the server default off."""
    request = one(text, replace(styled, default_style=default_style, user_defaults=user_defaults))
    assert {field: getattr(request, field) for field in expected} == expected


def test_preset_wraps_positive_parts_only(one, styled) -> None:
    """With a multi-prompt, the template wraps the positive parts and leaves negative ones bare."""
    request = one("a cat:: dog::-0.5 --style cinematic", styled)
    assert [(part.text, part.weight) for part in request.weighted_prompts] == [
        ("cinematic still of a cat, film grain", 1.0),
        ("dog", -0.5),
    ]


@pytest.mark.parametrize(
    ("field", "value", "source"),
    [
        ("user_defaults", "--s 5000", "/settings"),
        ("user_defaults", "words --s 5", "/settings"),
        ("suffix", "--chaos 500", "suffix"),
    ],
)
def test_bad_personal_settings_say_where_they_come_from(styled, field: str, value: str, source: str) -> None:
    """An invalid default or suffix parameter names its origin, so the user knows what to fix."""
    with pytest.raises(InvalidParameter, match=source):
        expand_prompt("a cat", replace(styled, **{field: value}))


def _write_checkpoint(path: Path, keys: list[str]) -> Path:
    header = json.dumps(
        {key: {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]} for key in keys}
    ).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0\0")
    return path


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("tiny", "tiny"),
        ("runwayml/stable-diffusion-v1-5", "sd1"),
        ("stabilityai/stable-diffusion-xl-base-1.0", "sdxl"),
        ("stabilityai/stable-diffusion-2-1", "sd2"),
        ("xl.safetensors", "sdxl"),
        ("v2.safetensors", "sd2"),
        ("v1.safetensors", "sd1"),
        ("{folder}", "sdxl"),
    ],
)
def test_family_comes_from_settings_without_loading_weights(tmp_path: Path, model: str, family: str) -> None:
    """MODEL=tiny, repo ids, checkpoints (header only) and diffusers folders give the right family."""
    models_dir = tmp_path / "models"
    _write_checkpoint(models_dir / "checkpoints" / "xl.safetensors", ["conditioner.embedders.1.model.x"])
    _write_checkpoint(models_dir / "checkpoints" / "v2.safetensors", ["cond_stage_model.model.x"])
    _write_checkpoint(models_dir / "checkpoints" / "v1.safetensors", ["cond_stage_model.transformer.x"])
    folder = tmp_path / "sdxl-folder"
    folder.mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionXLPipeline"}))
    settings = Config.from_env({"MODEL": model.format(folder=folder), "MODELS_DIR": str(models_dir)})
    assert context_from_settings(settings).family.name == family


def test_aliases_steps_and_alias_family_come_from_settings(tmp_path: Path) -> None:
    """`--v` picks the MODEL_ALIASES model and sizes for its family; STEPS is the --quality 1 base."""
    settings = Config.from_env(
        {
            "MODEL": "stabilityai/stable-diffusion-xl-base-1.0",
            "MODEL_ALIASES": "5=runwayml/stable-diffusion-v1-5",
            "STEPS": "20",
            "MODELS_DIR": str(tmp_path),
        }
    )
    context = context_from_settings(settings)
    assert (context.family, context.steps_override) == (SDXL, 20)
    default, older = expand_prompt("a cat --q .5", context)[0], expand_prompt("a cat --v 5", context)[0]
    assert (default.width, default.steps, default.model) == (1024, 10, "")
    assert (older.width, older.model, older.family) == (512, "runwayml/stable-diffusion-v1-5", SD1.name)


def test_missing_checkpoint_is_a_config_error(tmp_path: Path) -> None:
    """A MODEL checkpoint that is not there is the operator's error, named in one line."""
    with pytest.raises(ConfigError, match=r"nowhere\.safetensors"):
        context_from_settings(Config.from_env({"MODEL": "nowhere.safetensors", "MODELS_DIR": str(tmp_path)}))
