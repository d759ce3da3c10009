"""The mapping table (parameters → Stable Diffusion settings) and ImagineRequest's conversions."""

from __future__ import annotations

import json

import pytest

from bot.engine.family import SD1, SDXL, TINY, ModelFamily
from bot.engine.request import GenerationRequest, WeightedPrompt
from bot.prompt import ImagineRequest, PromptContext, expand_prompt
from bot.prompt.mapping import WEIRD_TEXT


@pytest.mark.parametrize(
    ("family", "steps_override", "quality", "steps"),
    [
        (SDXL, None, ".25", 8),
        (SDXL, None, ".5", 15),
        (SDXL, None, "1", 30),
        (SDXL, None, "2", 60),
        (SD1, None, "1", 25),
        (SD1, 20, ".5", 10),
        (TINY, None, ".25", 1),
    ],
)
def test_quality_scales_the_base_steps(family: ModelFamily, steps_override, quality: str, steps: int) -> None:
    """Steps = base × --quality, the base being STEPS or the family's default."""
    context = PromptContext(family=family, steps_override=steps_override)
    assert expand_prompt(f"a cat --q {quality}", context)[0].steps == steps


@pytest.mark.parametrize(
    ("family", "stylize", "guidance"),
    [(SDXL, 0, 7.5), (SDXL, 100, 6.0), (SDXL, 550, 5.25), (SDXL, 1000, 4.5), (SD1, 100, 7.0), (SD1, 0, 8.75)],
)
def test_stylize_sets_guidance(family: ModelFamily, stylize: int, guidance: float) -> None:
    """Low stylize follows the prompt harder (higher CFG), high stylize lets the model roam."""
    request = expand_prompt(f"a cat --s {stylize}", PromptContext(family=family))[0]
    assert request.guidance_scale == pytest.approx(guidance)


@pytest.mark.parametrize(("image_weight", "strength"), [("0", 1.0), ("1", 0.7), ("2", 0.4), ("3", 0.1)])
def test_image_weight_sets_image_strength(image_weight: str, strength: float) -> None:
    """Higher --iw keeps more of the image prompt (lower img2img strength)."""
    request = expand_prompt(f"https://e.com/a.png a cat --iw {image_weight}", PromptContext())[0]
    assert request.image_strength == pytest.approx(strength)
    assert request.to_generation(seed=1).strength == pytest.approx(strength)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a cat", ()),
        ("a cat --w 3000", (WeightedPrompt("a cat", 1.0), WeightedPrompt(WEIRD_TEXT, 0.5))),
        (
            "a:: b::2 --weird 600",
            (WeightedPrompt("a", 1.0), WeightedPrompt("b", 2.0), WeightedPrompt(WEIRD_TEXT, 0.1)),
        ),
    ],
)
def test_weird_adds_a_weighted_part(text: str, parts: tuple[WeightedPrompt, ...]) -> None:
    """--weird adds "weird, surreal, unconventional" at up to half the prompt's weight."""
    assert expand_prompt(text, PromptContext())[0].weighted_prompts == parts


def test_to_generation_carries_every_setting() -> None:
    """A full prompt's GenerationRequest has the sizes, steps, CFG, chaos, stop, tile, weights and model."""
    context = PromptContext(family=SD1, model_aliases={"6": "org/six"})
    request = expand_prompt(
        "red:: fox::2 --ar 3:2 --c 40 --stop 60 --tile --no snow --seed 7 --v 6 --q .5 --s 0", context
    )[0]
    generation = request.to_generation(seed=request.seed or 0, batch_size=2)
    assert isinstance(generation, GenerationRequest)
    assert (generation.width, generation.height, generation.seed, generation.seeds) == (624, 416, 7, [7, 8])
    assert (generation.steps, generation.guidance_scale) == (12, pytest.approx(8.75))
    assert (generation.chaos, generation.stop, generation.tile) == (0.4, 60, True)
    assert generation.negative_prompt == "snow"
    assert generation.weighted_prompts == (WeightedPrompt("red", 1.0), WeightedPrompt("fox", 2.0))
    assert (generation.model, generation.prompt) == ("org/six", "red:: fox::2")


def test_to_dict_has_the_documented_keys_and_round_trips() -> None:
    """The JSON view has every key `parse` promises and reads back into an equal request."""
    request = expand_prompt("https://e.com/a.png a:: b::-0.5 --ar 16:9 --seed 3 --relax", PromptContext())[0]
    data = json.loads(json.dumps(request.to_dict()))
    for key in (
        "prompt", "negative_prompt", "image_urls", "weighted_prompts", "width", "height", "seed", "chaos",
        "stylize", "quality", "stop", "tile", "style", "weird", "image_weight", "speed", "steps",
        "guidance_scale", "image_strength",
    ):  # fmt: skip
        assert key in data
    assert data["weighted_prompts"] == [{"text": "a", "weight": 1.0}, {"text": "b", "weight": -0.5}]
    assert (data["aspect"], data["image_urls"], data["speed"]) == ("16:9", ["https://e.com/a.png"], "relax")
    assert ImagineRequest.from_dict(data) == request
