"""Style codes (`--sref CODE`, `--sref random`) and `--exp` (FreeU) on the tiny engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.config import Config
from bot.engine.aesthetics import freeu_factors
from bot.engine.interface import GenerationInputs, Operation
from bot.engine.references import ReferenceImage, ReferenceKind
from bot.engine.request import GenerationRequest
from bot.engine.style_codes import style_swatch
from bot.prompt import PromptContext, expand_prompt
from bot.prompt.context import family_for_model


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A tiny engine with the tiny IP-Adapter."""
    from bot.engine.loader import load_engine

    settings = Config.from_env(
        {
            "MODEL": "tiny",
            "MODELS_DIR": str(tiny_model_dir.parent),
            "DATA_DIR": str(tmp_path_factory.mktemp("data")),
            "DEVICE": "cpu",
            "IP_ADAPTER": "tiny",
        }
    )
    return load_engine(settings)


def small(request: GenerationRequest) -> GenerationRequest:
    return GenerationRequest.from_dict(
        {**request.to_dict(), "width": 64, "height": 64, "steps": 3, "batch_size": 1}
    )


def run_prompt(engine, text: str, **kwargs):
    """Expand `text` as /imagine does and run it the way the job does (swatches for codes)."""
    (job,) = expand_prompt(text, PromptContext(family=family_for_model("tiny", Path("models"))), **kwargs)
    request = small(job.to_generation(seed=11))
    refs = tuple(
        ReferenceImage(ReferenceKind(item["kind"]), style_swatch(item["code"]), item["scale"])
        for item in request.extra["references"]
    )
    if not refs:
        return job, engine.generate(Operation.TXT2IMG, request)
    return job, engine.generate(Operation.REFERENCE, request, GenerationInputs(references=refs))


def pixels(result) -> np.ndarray:
    return np.stack([np.asarray(image, dtype=float) for image in result.images])


def test_swatches_are_deterministic_and_differ_by_code() -> None:
    """The same code draws the same picture every time; different codes draw different ones."""
    first, again, other = style_swatch(2891766437), style_swatch(2891766437), style_swatch(2891766438)
    assert first.size == (256, 256) and np.array_equal(np.asarray(first), np.asarray(again))
    assert np.abs(np.asarray(first, dtype=float) - np.asarray(other, dtype=float)).mean() > 10


def test_sref_code_changes_the_image_and_is_the_same_style_every_time(engine) -> None:
    """`--sref CODE` changes the picture against the same seed without it, and repeats exactly."""
    _, plain = run_prompt(engine, "a lighthouse")
    _, coded = run_prompt(engine, "a lighthouse --sref 2891766437")
    _, again = run_prompt(engine, "a lighthouse --sref 2891766437")
    _, other = run_prompt(engine, "a lighthouse --sref 42")
    assert np.abs(pixels(coded) - pixels(plain)).mean() > 1.0
    assert np.array_equal(pixels(coded), pixels(again))
    assert np.abs(pixels(coded) - pixels(other)).mean() > 0.5


def test_sref_random_prints_a_code_that_reproduces_the_image(engine) -> None:
    """The code `--sref random` shows in the job's prompt gives the same image when pasted back."""
    job, first = run_prompt(engine, "a lighthouse --sref random")
    (code,) = job.style_codes
    assert job.display_prompt == f"a lighthouse --sref {code}"
    _, pasted = run_prompt(engine, job.display_prompt)
    assert np.array_equal(pixels(first), pixels(pasted))


def test_exp_maps_to_freeu_and_changes_the_image_deterministically(engine) -> None:
    """--exp 0 is the plain UNet, --exp 100 the published FreeU values; the image changes, repeats,
    and FreeU is off again for the next job."""
    assert freeu_factors(0, "sdxl") is None
    assert freeu_factors(100, "sdxl") == {"b1": 1.3, "b2": 1.4, "s1": 0.9, "s2": 0.2}
    assert freeu_factors(25, "sd1") == {"b1": 1.125, "b2": 1.15, "s1": 0.975, "s2": 0.8}
    _, plain = run_prompt(engine, "a lighthouse")
    _, zero = run_prompt(engine, "a lighthouse --exp 0")
    _, strong = run_prompt(engine, "a lighthouse --exp 100")
    _, again = run_prompt(engine, "a lighthouse --exp 100")
    _, after = run_prompt(engine, "a lighthouse")
    assert np.array_equal(pixels(zero), pixels(plain))
    assert np.abs(pixels(strong) - pixels(plain)).mean() > 0.5
    assert np.array_equal(pixels(strong), pixels(again))
    assert np.array_equal(pixels(after), pixels(plain))
