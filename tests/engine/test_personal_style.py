"""Profiles and moodboards in the engine: stored style embeddings used as IP-Adapter style tokens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.config import Config
from bot.engine.interface import GenerationInputs, Operation
from bot.engine.references import ReferenceImage, ReferenceKind
from bot.engine.request import GenerationRequest
from bot.engine.style_codes import style_swatch
from bot.governance.style_profiles import learn_profile
from bot.prompt.mapping import personalization_scale, style_scale

PICTURES = [style_swatch(code) for code in (11, 22, 33, 44, 55)]


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


REQUEST = GenerationRequest(prompt="a lighthouse", width=64, height=64, seed=3, steps=3, batch_size=2)


def embed(engine, pictures) -> list[list[float]]:
    refs = tuple(ReferenceImage(ReferenceKind.STYLE, picture, 1.0) for picture in pictures)
    result = engine.generate(Operation.STYLE_EMBED, REQUEST, GenerationInputs(references=refs))
    assert result.images == [] and result.details["adapter"].endswith("ip-adapter_sd15.safetensors")
    return result.details["embeddings"]


def styled(engine, refs) -> np.ndarray:
    result = engine.generate(Operation.REFERENCE, REQUEST, GenerationInputs(references=tuple(refs)))
    return np.stack([np.asarray(image, dtype=float) for image in result.images])


def test_moodboard_of_three_images_equals_sref_of_the_same_three(engine) -> None:
    """Stored embeddings of three pictures condition exactly like `--sref` of those pictures."""
    vectors = embed(engine, PICTURES[:3])
    scale = style_scale(100)
    assert scale == personalization_scale(100)
    board = [ReferenceImage(ReferenceKind.STYLE, None, scale, tuple(vector)) for vector in vectors]
    sref = [ReferenceImage(ReferenceKind.STYLE, picture, scale) for picture in PICTURES[:3]]
    assert np.array_equal(styled(engine, board), styled(engine, sref))


def test_profile_from_likes_changes_the_image_and_is_deterministic(engine) -> None:
    """A profile learned from liked images changes the grid against the same seed, the same every run."""
    liked = embed(engine, PICTURES)
    profile = learn_profile(liked, [])
    plain = engine.generate(Operation.TXT2IMG, REQUEST)
    plain_pixels = np.stack([np.asarray(image, dtype=float) for image in plain.images])
    ref = ReferenceImage(ReferenceKind.STYLE, None, personalization_scale(100), tuple(profile.tolist()))
    first, again = styled(engine, [ref]), styled(engine, [ref])
    assert np.abs(first - plain_pixels).mean() > 1.0
    assert np.array_equal(first, again)
    # A different member's likes make a different profile and a different picture.
    other = learn_profile(embed(engine, PICTURES[3:]), [])
    other_ref = ReferenceImage(ReferenceKind.STYLE, None, personalization_scale(100), tuple(other.tolist()))
    assert np.abs(styled(engine, [other_ref]) - first).mean() > 0.1
