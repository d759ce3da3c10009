"""Image prompts in the engine: IP-Adapter references, the fallback mix, describe and shorten."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.config import Config
from bot.engine.describe import DescribeModels, Describer
from bot.engine.image_prompts import ImagePromptModels, ImagePrompts
from bot.engine.interface import GenerationInputs, Operation
from bot.engine.references import (
    FALLBACK_METHOD,
    IP_ADAPTER_METHOD,
    ReferenceImage,
    ReferenceKind,
    style_layer_scale,
)
from bot.engine.request import GenerationRequest
from bot.engine.shorten import analyse_prompt, join_phrases, split_phrases
from bot.errors import JobFailed

RED = Image.new("RGB", (64, 64), (220, 20, 20))
BLUE = Image.new("RGB", (64, 64), (20, 20, 220))


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A tiny engine with the tiny IP-Adapter and describe models."""
    from bot.engine.loader import load_engine

    settings = Config.from_env(
        {
            "MODEL": "tiny",
            "MODELS_DIR": str(tiny_model_dir.parent),
            "DATA_DIR": str(tmp_path_factory.mktemp("data")),
            "DEVICE": "cpu",
            "IP_ADAPTER": "tiny",
            "DESCRIBE_MODEL": "tiny",
            "DESCRIBE_CLIP": "tiny",
        }
    )
    return load_engine(settings)


def request(**changes) -> GenerationRequest:
    values = {"prompt": "a cat", "width": 128, "height": 128, "seed": 5, "steps": 3, "batch_size": 2}
    return GenerationRequest(**{**values, **changes})


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=float)


def differ(first, second) -> float:
    return max(np.abs(pixels(a) - pixels(b)).mean() for a, b in zip(first.images, second.images, strict=True))


def test_tiny_components_load_offline(engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tiny IP-Adapter folder looks like h94/IP-Adapter and loads with the hub offline."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    engine.image_prompts.adapter.load()
    folder = Path(engine.image_prompts.models.ip_adapter.location)
    assert (folder / "models" / "ip-adapter_sd15.safetensors").is_file()
    assert json.loads((folder / "models" / "image_encoder" / "config.json").read_text())["architectures"] == [
        "CLIPVisionModelWithProjection"
    ]
    assert type(engine.txt2img_pipe.image_encoder).__name__ == "CLIPVisionModelWithProjection"
    _, captioner, _, clip = engine.image_prompts.describer._load()
    assert type(captioner).__name__ == "BlipForConditionalGeneration"
    assert type(clip).__name__ == "CLIPModel"


def test_style_reference_changes_the_result_only_with_weight(engine) -> None:
    """--sw 100 (scale > 0) changes the images; --sw 0 gives txt2img's images exactly (same seed)."""
    plain = engine.generate(Operation.TXT2IMG, request())

    def styled(scale: float):
        inputs = GenerationInputs(references=(ReferenceImage(ReferenceKind.STYLE, RED, scale),))
        return engine.generate(Operation.REFERENCE, request(), inputs)

    off, on = styled(0.0), styled(0.8)
    assert differ(off, plain) == 0.0
    assert differ(on, plain) > 5.0
    assert on.details["method"] == IP_ADAPTER_METHOD
    # The adapter is detached after the call: plain txt2img is unchanged afterwards.
    assert differ(engine.generate(Operation.TXT2IMG, request()), plain) == 0.0


def test_blend_embeddings_come_from_every_image(engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A two-image blend hands the pipeline IP-Adapter embeddings of both images."""
    received = {}
    original = engine._run

    def spy(pipe, req, on_step, **inputs):
        received.update(inputs)
        return original(pipe, req, on_step, **inputs)

    monkeypatch.setattr(engine, "_run", spy)
    refs = (ReferenceImage(ReferenceKind.IMAGE, RED, 1.0), ReferenceImage(ReferenceKind.IMAGE, BLUE, 1.0))
    result = engine.generate(Operation.REFERENCE, request(prompt=""), GenerationInputs(references=refs))
    assert len(result.images) == 2
    image_slot = received["ip_adapter_image_embeds"][0]  # slot 0 = image prompts
    negative, positive = image_slot.chunk(2)
    expected = engine.image_prompts.adapter.image_embeds([RED, BLUE])
    assert positive.shape[:2] == (2, 2)  # batch of 2, one embedding per blended image
    for row in positive:
        assert np.allclose(row.numpy(), expected.numpy(), atol=1e-5)
    assert float(negative.abs().sum()) == 0.0
    assert float((expected[0] - expected[1]).abs().sum()) > 0  # the two images really differ


def halves(left: tuple[int, int, int], right: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (64, 64), right)
    image.paste(Image.new("RGB", (32, 64), left), (0, 0))
    return image


def test_fallback_mixes_averaged_latents(engine) -> None:
    """Without IP-Adapter a blend is img2img from the VAE-averaged images, and says so."""
    from bot.engine.references import average_latent_image

    red_left = halves((230, 10, 10), (0, 0, 0))
    blue_right = halves((0, 0, 0), (10, 10, 230))
    mixed = pixels(average_latent_image(engine.img2img_pipe, [red_left, blue_right], 128, 128))
    left, right = mixed[:, :64].reshape(-1, 3).mean(axis=0), mixed[:, 64:].reshape(-1, 3).mean(axis=0)
    assert left[0] > left[2] + 30 and right[2] > right[0] + 30  # red from one image, blue from the other
    fallback = ImagePrompts(engine, ImagePromptModels())
    refs = (
        ReferenceImage(ReferenceKind.IMAGE, red_left, 1.0),
        ReferenceImage(ReferenceKind.IMAGE, blue_right, 1.0),
    )
    result = fallback.generate(
        Operation.REFERENCE, request(strength=0.3), GenerationInputs(references=refs), None
    )
    assert result.details["method"] == FALLBACK_METHOD
    out = pixels(result.images[0])
    assert out[:, :64, 0].mean() > out[:, 64:, 0].mean() and out[:, 64:, 2].mean() > out[:, :64, 2].mean()


def test_describe_gives_four_distinct_prompts(engine) -> None:
    """/describe: four different suggestions with the image's --ar; another seed gives others."""
    wide = Image.new("RGB", (96, 64), (30, 140, 60))
    first = engine.generate(Operation.DESCRIBE, request(seed=0), GenerationInputs(image=wide)).details[
        "prompts"
    ]
    again = engine.generate(Operation.DESCRIBE, request(seed=7), GenerationInputs(image=wide)).details[
        "prompts"
    ]
    assert len(first) == 4 and len(set(first)) == 4
    assert all(prompt.endswith("--ar 3:2") for prompt in first)
    assert first != again


def test_shorten_ranks_the_dominant_word_first(engine) -> None:
    """The word that is most of the prompt's tokens moves the tiny encoder's pooled embedding most
    (the encoder reads the prompt with its commas, and the prompt without the word keeps them)."""
    import torch

    from bot.engine.shorten import pooled_embedding

    pipe = engine.txt2img_pipe
    dominant = "wonderfullyextraordinarilymagnificent"  # 37 of the prompt's 54 byte tokens
    prompt = f"a dog, {dominant}, in a park"
    analysis = analyse_prompt(pipe.text_encoder, pipe.tokenizer, prompt)
    assert analysis.ranked()[0] == (dominant, 1.0)
    assert all(dominant in shorter for shorter in analysis.shorter)
    assert 1 <= len(analysis.shorter) <= 5
    # The mechanism: scores are the pooled embedding's move when a word is removed, scaled to 1.
    full, without_dog, without_dominant = pooled_embedding(
        pipe.text_encoder,
        pipe.tokenizer,
        [f"a dog, {dominant}, in a park", f"a, {dominant}, in a park", "a dog, in a park"],
    )
    moved = [
        1 - float(torch.cosine_similarity(full, other, dim=0)) for other in (without_dog, without_dominant)
    ]
    assert dict(analysis.words)["dog"] == pytest.approx(moved[0] / moved[1], abs=2e-3)


def test_shorter_prompts_keep_the_phrases_and_their_commas(engine) -> None:
    """Shorter prompts drop whole words but keep the comma-separated phrases that still have words,
    one ", " between them: never a doubled, leading or trailing comma."""
    pipe = engine.txt2img_pipe
    prompt = "a very fluffy cat, sitting on an old wooden chair, soft warm light, highly detailed"
    analysis = analyse_prompt(pipe.text_encoder, pipe.tokenizer, prompt)
    original = [phrase.split() for phrase in prompt.split(", ")]
    assert analysis.phrases == [n for n, phrase in enumerate(original) for _ in phrase]
    assert analysis.shorter and any(", " in shorter for shorter in analysis.shorter)
    for shorter in analysis.shorter:
        assert ",," not in shorter.replace(" ", "") and not shorter.startswith(",")
        assert not shorter.rstrip().endswith(",") and ", ," not in shorter
        phrases = [phrase.split() for phrase in shorter.split(", ")]
        assert all(phrases), shorter
        # Each surviving phrase is what is left of one original phrase, in order.
        position = 0
        for phrase in phrases:
            while position < len(original) and not _subsequence(phrase, original[position]):
                position += 1
            assert position < len(original), f"{shorter!r} mixes phrases"
            position += 1


@pytest.mark.parametrize(
    ("prompt", "kept", "expected"),
    [
        ("red fox, deep snow, night", {0, 1, 2, 3, 4}, "red fox, deep snow, night"),
        ("red fox, deep snow, night", {0, 1, 4}, "red fox, night"),  # a middle phrase gone
        ("red fox, deep snow, night", {1, 3}, "fox, snow"),  # the last phrase gone
        ("red fox, deep snow, night", {4}, "night"),  # the first phrases gone
        ("red fox,, deep snow ,night,", {0, 2, 4}, "red, deep, night"),  # empty phrases ignored
    ],
)
def test_join_phrases_never_doubles_or_trails_a_comma(prompt, kept, expected) -> None:
    """The surviving words, phrase by phrase, with exactly one ", " between phrases."""
    words, phrases = split_phrases(prompt)
    assert join_phrases(words, phrases, kept) == expected


def _subsequence(part: list[str], whole: list[str]) -> bool:
    rest = iter(whole)
    return all(word in rest for word in part)


def test_shorten_runs_as_an_engine_operation(engine) -> None:
    """SHORTEN on the configured model's own encoder: every word scored, shorter prompts given."""
    result = engine.generate(Operation.SHORTEN, request(prompt="a red fox in deep snow"), GenerationInputs())
    words = [word for word, _ in result.details["words"]]
    assert words == ["a", "red", "fox", "in", "deep", "snow"]
    assert max(score for _, score in result.details["words"]) == 1.0
    assert result.images == [] and result.details["shorter"]


def test_style_references_feed_only_the_style_layers(engine) -> None:
    """While a style reference runs, only the family's style attention layer has a scale."""
    adapter = engine.image_prompts.adapter
    style = style_layer_scale("tiny", 0.8)
    with adapter.attached([0.0, style, 0.0, 0.0]):
        scales = {
            name: processor.scale[1]
            for name, processor in engine.txt2img_pipe.unet.attn_processors.items()
            if name.endswith("attn2.processor")
        }
    assert scales.pop("up_blocks.1.attentions.1.transformer_blocks.0.attn2.processor") == 0.8
    assert set(scales.values()) == {0.0}
    assert style_layer_scale("sd1", 0.8) == 0.8  # no known style layer: every layer


def test_missing_describe_models_fail_with_the_setting_named() -> None:
    """A DESCRIBE_MODEL that cannot be loaded is one clear job error naming the settings."""
    describer = Describer(DescribeModels("/nonexistent/captioner", "/nonexistent/clip"), "cpu")
    with pytest.raises(JobFailed, match="DESCRIBE_MODEL `/nonexistent/captioner`"):
        describer.describe(RED)
