"""Several jobs' txt2img in one pipeline call (DiffusersEngine.txt2img_jobs) on the tiny model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from bot.engine.request import GenerationRequest, shares_call


def request(**changes) -> GenerationRequest:
    base = GenerationRequest(prompt="a red fox in the snow", width=64, height=64, seed=7, steps=3)
    return replace(base, **changes)


def largest_difference(a: Image.Image, b: Image.Image) -> float:
    """The largest per-pixel difference, in 0..255 units."""
    return float(np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)).max())


def test_each_job_of_a_batched_call_matches_running_it_alone(tiny_engine):
    jobs = [
        request(seed=7, batch_size=4),
        request(prompt="a lighthouse at dusk", negative_prompt="fog", seed=100, batch_size=2, chaos=0.5),
        request(prompt="blue ocean", seed=4_000_000_000, batch_size=2),
    ]
    steps = []
    batched = tiny_engine.txt2img_jobs(jobs, steps.append)
    assert [len(result.images) for result in batched] == [4, 2, 2]
    assert [step.latents.shape[0] for step in steps] == [8] * len(steps)
    for job, result in zip(jobs, batched, strict=True):
        alone = tiny_engine.txt2img(job)
        assert result.seeds == alone.seeds == job.seeds
        for mine, reference in zip(result.images, alone.images, strict=True):
            assert largest_difference(mine, reference) <= 1.0  # at most one level of 255
    # The prompts really differ per job (not one prompt for the whole call).
    assert largest_difference(batched[0].images[0], batched[2].images[0]) > 10


def test_requests_that_differ_in_a_shared_field_are_refused(tiny_engine):
    assert shares_call(request(), request(prompt="other", seed=3, negative_prompt="x", chaos=0.2))
    for change in (
        {"steps": 4},
        {"width": 72},
        {"guidance_scale": 5.0},
        {"sampler": "euler"},
        {"tile": True},
    ):
        assert not shares_call(request(), request(**change))
        with pytest.raises(ValueError):
            tiny_engine.txt2img_jobs([request(batch_size=1), request(batch_size=1, **change)])
