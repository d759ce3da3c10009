"""--draft: fewer steps (or the draft LoRA's recipe), the full recipe kept for Enhance, half the GPU time."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from bot.engine.family import SD1, SDXL, TINY, TINY_TURBO
from bot.jobs.accounting import charged_gpu_seconds
from bot.prompt import PromptContext, expand_prompt


@pytest.mark.parametrize("family", [SD1, SDXL, TINY], ids=lambda family: family.name)
def test_draft_runs_fewer_steps_of_the_base_model_without_a_draft_lora(family):
    """Without DRAFT_LORA: a third of the steps, the same CFG, the family's sampler; the reply says so."""
    context = PromptContext(family=family)
    (normal,) = expand_prompt("a fox", context)
    (draft,) = expand_prompt("a fox --draft", context)
    assert draft.draft and not normal.draft
    assert draft.steps < normal.steps
    assert draft.guidance_scale == normal.guidance_scale
    assert (draft.sampler, draft.loras) == ("", ())
    assert (draft.full_steps, draft.full_guidance) == (normal.steps, normal.guidance_scale)
    assert "of the base model" in draft.draft_note


def test_draft_with_an_lcm_lora_uses_its_recipe_and_keeps_the_styles_loras():
    """DRAFT_LORA=lcm-…: the LCM sampler at CFG 1 and ≤ 6 steps, the LoRA last; Enhance drops it."""
    context = PromptContext(family=SDXL, draft_lora="lcm-lora-sdxl")
    (draft,) = expand_prompt("a fox --draft --seed 7", context)
    assert (draft.steps, draft.guidance_scale, draft.sampler) == (6, 1.0, "lcm")
    assert draft.loras == (("lcm-lora-sdxl", 1.0),)
    generation = draft.to_generation(seed=7)
    assert generation.is_draft
    assert generation.loras == (("lcm-lora-sdxl", 1.0),)
    full = generation.enhanced()
    (normal,) = expand_prompt("a fox --seed 7", dataclasses.replace(context, draft_lora=""))
    assert full == normal.to_generation(seed=7)
    assert not full.is_draft
    assert "lcm-lora-sdxl" in draft.draft_note


def test_draft_with_a_lightning_lora_runs_euler_trailing_without_guidance():
    """A Lightning/Hyper/Turbo-class draft LoRA: 4 steps, CFG 0, Euler with trailing timesteps."""
    (draft,) = expand_prompt(
        "a fox --draft", PromptContext(family=SDXL, draft_lora="sdxl_lightning_4step_lora")
    )
    assert (draft.steps, draft.guidance_scale, draft.sampler) == (4, 0.0, "euler-trailing")


def test_draft_on_a_distilled_model_halves_its_steps_and_uses_no_lora():
    """A turbo model is its own draft: half its steps (at least one), no LoRA even when one is set."""
    (draft,) = expand_prompt("a fox --draft", PromptContext(family=TINY_TURBO, draft_lora="lcm-lora-sdv1-5"))
    assert (draft.steps, draft.loras) == (1, ())


def test_requests_round_trip_through_json():
    """A stored draft job reads back the same (LoRAs and the full recipe included)."""
    from bot.engine.request import GenerationRequest
    from bot.prompt import ImagineRequest

    (draft,) = expand_prompt("a fox --draft", PromptContext(family=SD1, draft_lora="lcm-lora-sdv1-5"))
    assert ImagineRequest.from_dict(json.loads(json.dumps(draft.to_dict()))) == draft
    generation = draft.to_generation(seed=3)
    assert GenerationRequest.from_dict(json.loads(json.dumps(generation.to_dict()))) == generation


def test_draft_jobs_are_charged_half_their_gpu_time():
    """/info counts a draft's GPU seconds at half; other jobs at what they used."""
    (draft,) = expand_prompt("a fox --draft", PromptContext(family=SD1))
    (normal,) = expand_prompt("a fox", PromptContext(family=SD1))
    assert charged_gpu_seconds(draft.to_generation(seed=1), 10.0) == 5.0
    assert charged_gpu_seconds(normal.to_generation(seed=1), 10.0) == 10.0


def test_parse_shows_fewer_steps_for_draft(tmp_path):
    """`python -m bot parse "… --draft"` prints fewer steps than the same prompt without it."""
    env = {**os.environ, "MODEL": "tiny", "MODELS_DIR": str(tmp_path), "DATA_DIR": str(tmp_path), "STEPS": ""}

    def steps(prompt: str) -> int:
        shown = subprocess.run(
            [sys.executable, "-m", "bot", "parse", prompt],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(shown.stdout)["jobs"][0]["steps"]

    assert steps("a fox --draft") < steps("a fox")
