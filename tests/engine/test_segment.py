"""Smart Select and Remove background on the embedded tiny SAM (real SamModel, random weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from bot.engine.interface import GenerationInputs, Operation
from bot.engine.request import GenerationRequest
from bot.engine.segment import Segmenter, foreground_prompt, select_prompt
from bot.engine.tiny_segment import build_tiny_sam


@pytest.fixture(scope="module")
def tiny_sam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sam(tmp_path_factory.mktemp("models") / "tiny-sam")


@pytest.fixture
def picture() -> Image.Image:
    image = Image.new("RGB", (96, 72), (20, 80, 200))
    ImageDraw.Draw(image).ellipse((30, 16, 70, 56), fill=(240, 200, 30))
    return image


def model_logits(folder: Path, image: Image.Image, **prompts: object) -> tuple[np.ndarray, np.ndarray]:
    """The model's own mask logits at the picture's size and its IoU scores, called directly."""
    from transformers import SamModel, SamProcessor

    processor, model = SamProcessor.from_pretrained(folder), SamModel.from_pretrained(folder).eval()
    inputs = processor(images=image, return_tensors="pt", **prompts)
    with torch.no_grad():
        output = model(
            **{k: v for k, v in inputs.items() if k not in ("original_sizes", "reshaped_input_sizes")},
            multimask_output=True,
        )
    (masks,) = processor.image_processor.post_process_masks(
        output.pred_masks, inputs["original_sizes"], inputs["reshaped_input_sizes"], binarize=False
    )
    return masks[0].numpy(), output.iou_scores[0, 0].numpy()


def request(**extra: object) -> GenerationRequest:
    return GenerationRequest(prompt="", width=96, height=72, seed=5, steps=1, batch_size=1, extra=dict(extra))


def test_smart_select_mask_is_the_models_best_mask_for_the_click(tiny_sam, picture):
    """The mask is the model's highest-IoU mask for that point, thresholded at logit 0, image-sized."""
    segmenter = Segmenter(str(tiny_sam), torch.device("cpu"))
    result = segmenter.generate(
        Operation.SMART_SELECT, request(select={"point": [50, 36]}), GenerationInputs(picture)
    )
    (mask,) = result.images
    logits, scores = model_logits(tiny_sam, picture, input_points=[[[[50, 36]]]], input_labels=[[[1]]])
    expected = (logits[int(scores.argmax())] > 0).astype(np.uint8) * 255
    assert mask.mode == "L" and mask.size == picture.size
    assert np.array_equal(np.asarray(mask), expected)
    other = segmenter.select(picture, {"point": [5, 5]})
    logits, scores = model_logits(tiny_sam, picture, input_points=[[[[5, 5]]]], input_labels=[[[1]]])
    assert np.array_equal(np.asarray(other), (logits[int(scores.argmax())] > 0).astype(np.uint8) * 255)


def test_remove_background_gives_rgba_whose_alpha_is_the_models_mask(tiny_sam, picture):
    """RGB kept exactly; alpha = the most confident non-whole-frame mask for the inset box + centre."""
    segmenter = Segmenter(str(tiny_sam), torch.device("cpu"))
    (cut,) = segmenter.generate(Operation.REMOVE_BACKGROUND, request(), GenerationInputs(picture)).images
    prompt = foreground_prompt(picture.size)
    logits, scores = model_logits(
        tiny_sam,
        picture,
        input_points=[[[prompt["point"]]]],
        input_labels=[[[1]]],
        input_boxes=[[prompt["box"]]],
    )
    binary = logits > 0
    ranked = sorted(range(3), key=lambda n: float(scores[n]), reverse=True)
    best = next((n for n in ranked if binary[n].mean() < 0.97), ranked[0])
    assert cut.mode == "RGBA" and cut.size == picture.size
    assert np.array_equal(np.asarray(cut)[..., 3], binary[best].astype(np.uint8) * 255)
    assert np.array_equal(np.asarray(cut)[..., :3], np.asarray(picture))


def test_the_model_is_loaded_once_and_only_when_first_needed(tiny_sam, picture, monkeypatch):
    """Nothing loads at construction; two operations load the model once."""
    from transformers import SamModel

    loads = []
    original = SamModel.from_pretrained.__func__
    monkeypatch.setattr(
        SamModel,
        "from_pretrained",
        classmethod(lambda cls, *a, **k: loads.append(a) or original(cls, *a, **k)),
    )
    segmenter = Segmenter(str(tiny_sam), torch.device("cpu"))
    assert not segmenter.loaded and loads == []
    segmenter.select(picture, {"box": [10, 10, 60, 60]})
    segmenter.foreground(picture)
    assert segmenter.loaded and len(loads) == 1


def test_a_missing_model_folder_is_a_job_failure_naming_it(tmp_path, picture):
    """A folder without weights: JobFailed naming the model (the admission check comes first)."""
    from bot.errors import JobFailed

    with pytest.raises(JobFailed, match="could not be loaded"):
        Segmenter(str(tmp_path / "nothing"), torch.device("cpu")).select(picture, {"point": [1, 1]})


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({}, "needs a point or a box"),
        ({"select": {"point": [96, 10]}}, "outside"),
        ({"select": {"box": [10, 10, 5, 20]}}, "outside"),
    ],
)
def test_select_prompt_refuses_what_is_not_on_the_picture(extra, error):
    """A point or a box off the picture (or none) is a ValueError naming it."""
    with pytest.raises(ValueError, match=error):
        select_prompt(extra, (96, 72))
