"""`--no` on a model that runs without classifier-free guidance (Turbo, Lightning, a distilled
draft LoRA: CFG scale 0–1) is never read by the pipeline: the reply says so, and the PNG's recipe
carries a note instead of a negative prompt that was not used."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PIL import Image

from bot.engine.family import SDXL, SDXL_TURBO, TINY, TINY_TURBO
from bot.engine.request import GenerationResult
from bot.jobs.files import parse_a1111_parameters, read_png_parameters, save_result
from bot.prompt import PromptContext, expand_prompt


@pytest.mark.parametrize(
    ("family", "read"), [(TINY, True), (SDXL, True), (TINY_TURBO, False), (SDXL_TURBO, False)]
)
def test_no_is_noted_where_cfg_is_off(family, read: bool, tmp_path) -> None:
    (parsed,) = expand_prompt("a lighthouse --no fog, rain", PromptContext(family=family))
    assert ("runs without guidance (CFG), so --no is ignored" in parsed.draft_note) is not read
    request = replace(parsed.to_generation(seed=3, batch_size=1), width=64, height=64, steps=2)
    result = GenerationResult(
        images=[Image.new("RGB", (64, 64), "gray")],
        seeds=[3],
        model_name=family.name,
        sampler="euler",
        steps=2,
        guidance_scale=request.guidance_scale,
        family=family.name,
    )
    (path,) = save_result(tmp_path, request, result)
    fields = parse_a1111_parameters(read_png_parameters(path))
    if read:
        assert fields["negative_prompt"] == "fog, rain" and "Note" not in fields
    else:
        assert (
            fields["negative_prompt"] == ""
            and fields["Note"] == "--no ignored (no guidance at CFG scale 0–1)"
        )
