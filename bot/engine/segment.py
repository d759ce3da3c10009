"""The editor's segmentation: Smart Select (a click or a box → a mask) and Remove background.

One SAM-class model (`SEGMENT_MODEL`: SAM, SlimSAM or SAM-HQ-shaped checkpoints that load as
transformers' `SamModel`; a folder, a Hugging Face repo id, or "tiny" for the embedded test model)
is loaded on the GPU worker the first time either operation runs, then kept.

- Smart Select (`Operation.SMART_SELECT`): the prompt is `request.extra["select"]`, `{"point":
  [x, y]}` or `{"box": [left, top, right, bottom]}` in the image's pixels; the result is one "L"
  image, white where the model's best mask (highest predicted IoU of its three) has a logit > 0.
- Remove background (`Operation.REMOVE_BACKGROUND`): SAM prompted with a box just inside the
  picture and its centre point, the most confident mask that is not the whole frame; the
  result is the picture as RGBA whose alpha channel is exactly that mask — or, with MATTE_MODEL
  set, that mask with its edge band matted by ViTMatte (bot/engine/matting.py).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from bot.engine.interface import GenerationInputs, Operation
from bot.engine.matting import Matter, matter_for
from bot.engine.request import GenerationRequest, GenerationResult
from bot.errors import JobFailed

if TYPE_CHECKING:
    from bot.config import Config

__all__ = [
    "SEGMENT_OPERATIONS",
    "Segmenter",
    "foreground_prompt",
    "resolve_segment_model",
    "segment_model_missing",
    "segmenter_for",
    "select_prompt",
]

log = logging.getLogger(__name__)

SEGMENT_OPERATIONS = frozenset({Operation.SMART_SELECT, Operation.REMOVE_BACKGROUND})
# Remove background: the box prompt sits this share of each side inside the frame.
_BOX_INSET = 0.02
# A mask covering more than this share of the picture is "everything", not a subject.
_WHOLE_FRAME = 0.97
# SEGMENT_MODEL values that turn Smart Select and Remove background off.
OFF = frozenset({"", "off", "none"})


def resolve_segment_model(name: str, models_dir: Path) -> str:
    """What SEGMENT_MODEL names: "" (off), a folder, a repo id; "tiny": the embedded test model."""
    name = name.strip()
    if name.lower() in OFF:
        return ""
    if name.lower() == "tiny":
        return str(models_dir / "tiny-sam")
    return name


def select_prompt(extra: dict[str, Any], size: tuple[int, int]) -> dict[str, list[int]]:
    """The Smart Select prompt of a request (`extra["select"]`), checked against the picture's size.
    Raises ValueError when it is missing or outside the picture."""
    chosen = extra.get("select") or {}
    width, height = size
    if "point" in chosen:
        x, y = (int(v) for v in chosen["point"])
        if not (0 <= x < width and 0 <= y < height):
            raise ValueError(f"the point {x},{y} is outside the {width}x{height} image")
        return {"point": [x, y]}
    if "box" in chosen:
        left, top, right, bottom = (int(v) for v in chosen["box"])
        if not (0 <= left < right <= width and 0 <= top < bottom <= height):
            raise ValueError(f"the box {left},{top},{right},{bottom} is outside the {width}x{height} image")
        return {"box": [left, top, right, bottom]}
    raise ValueError("Smart Select needs a point or a box")


def foreground_prompt(size: tuple[int, int]) -> dict[str, list[int]]:
    """Remove background's prompt: a box just inside the frame and the centre point."""
    width, height = size
    dx, dy = max(1, round(width * _BOX_INSET)), max(1, round(height * _BOX_INSET))
    return {"box": [dx, dy, width - dx, height - dy], "point": [width // 2, height // 2]}


class Segmenter:
    """SEGMENT_MODEL on one device, loaded on first use (by the worker thread that owns the engine)."""

    def __init__(
        self, source: str, device: Any, *, tiny_folder: Path | None = None, matter: Matter | None = None
    ) -> None:
        self.source = source
        self.device = device
        self.tiny_folder = tiny_folder
        self.matter = matter  # MATTE_MODEL: Remove background's edges matted (None: the hard mask)
        self._model: Any = None
        self._processor: Any = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import SamModel, SamProcessor

        if self.tiny_folder is not None:
            from bot.engine.tiny_segment import build_tiny_sam

            build_tiny_sam(self.tiny_folder)
        started = time.perf_counter()
        try:
            processor = SamProcessor.from_pretrained(self.source)
            model = SamModel.from_pretrained(self.source).to(self.device).eval()
        except (OSError, ValueError) as error:
            raise JobFailed(f"The Smart Select model {self.source!r} could not be loaded: {error}") from None
        self._processor, self._model = processor, model
        log.info("Segmentation model %s loaded in %.1f s", self.source, time.perf_counter() - started)

    def logits(self, image: Image.Image, prompt: dict[str, list[int]]) -> tuple[Any, Any]:
        """The model's mask logits at the picture's size (3 × H × W) and their predicted IoUs (3)."""
        import torch

        self._load()
        picture = image.convert("RGB")
        kwargs: dict[str, Any] = {}
        if "point" in prompt:
            kwargs["input_points"] = [[[prompt["point"]]]]
            kwargs["input_labels"] = [[[1]]]
        if "box" in prompt:
            kwargs["input_boxes"] = [[prompt["box"]]]
        inputs = self._processor(images=picture, return_tensors="pt", **kwargs)
        original, reshaped = inputs.pop("original_sizes"), inputs.pop("reshaped_input_sizes")
        inputs = {key: value.to(self.device) for key, value in inputs.items()}
        with torch.inference_mode():
            output = self._model(**inputs, multimask_output=True)
        (masks,) = self._processor.image_processor.post_process_masks(
            output.pred_masks.float().cpu(), original, reshaped, binarize=False
        )
        return masks[0], output.iou_scores[0, 0].float().cpu()

    def select(self, image: Image.Image, prompt: dict[str, list[int]]) -> Image.Image:
        """Smart Select: the best mask for a point or a box, white = selected."""
        masks, scores = self.logits(image, prompt)
        return _mask_image(masks[int(scores.argmax())] > 0)

    def foreground(self, image: Image.Image) -> Image.Image:
        """Remove background's mask: the most confident mask that is not the whole frame."""
        masks, scores = self.logits(image, foreground_prompt(image.size))
        binary = masks > 0
        covers = binary.flatten(1).float().mean(dim=1)
        ranked = sorted(range(len(scores)), key=lambda n: float(scores[n]), reverse=True)
        best = next((n for n in ranked if float(covers[n]) < _WHOLE_FRAME), ranked[0])
        return _mask_image(binary[best])

    @property
    def name(self) -> str:
        """The model's name for the recipe (`Model: SlimSAM-uniform-77`)."""
        return Path(self.source).name or self.source

    def generate(
        self, operation: Operation, request: GenerationRequest, inputs: GenerationInputs
    ) -> GenerationResult:
        """Run SMART_SELECT or REMOVE_BACKGROUND on `inputs.image` (the engine's entry point)."""
        if inputs.image is None:
            raise ValueError(f"{operation} needs an input image")
        started = time.perf_counter()
        image = inputs.image
        details = {"segment_model": self.source}
        if operation is Operation.SMART_SELECT:
            result = self.select(image, select_prompt(request.extra, image.size))
        else:
            result = image.convert("RGBA")
            mask = self.foreground(image)
            if self.matter is not None:  # MATTE_MODEL: the edge band matted
                mask = self.matter.refine(image, mask)
                details["matte_model"] = self.matter.setting
            result.putalpha(mask)
        return GenerationResult(
            images=[result],
            seeds=[request.seed],
            model_name=self.name,
            sampler="",
            steps=0,
            guidance_scale=0.0,
            seconds=time.perf_counter() - started,
            details=details,
        )


def _mask_image(selected: Any) -> Image.Image:
    """A boolean H × W tensor as an "L" image (255 = selected)."""
    import numpy as np

    return Image.fromarray((selected.numpy().astype(np.uint8)) * 255, mode="L")


def segmenter_for(settings: Config, device: Any) -> Segmenter | None:
    """The Segmenter SEGMENT_MODEL names (None when it is empty); nothing is loaded yet."""
    source = resolve_segment_model(settings.segment_model, settings.models_dir)
    if not source:
        return None
    tiny = settings.segment_model.strip().lower() == "tiny"
    return Segmenter(
        source, device, tiny_folder=Path(source) if tiny else None, matter=matter_for(settings, device)
    )


def segment_model_missing(settings: Config) -> str | None:
    """Why SEGMENT_MODEL cannot be used (checked before a job is queued), or None when it can.
    A repo id is taken on trust here: it is downloaded by the worker on first use."""
    name = settings.segment_model.strip()
    if name.lower() in OFF:
        return "Smart Select and Remove background are not set up on this bot (SEGMENT_MODEL is off)."
    if name.lower() == "tiny":
        return None
    path = Path(name).expanduser()
    looks_local = path.is_absolute() or name.startswith((".", "~")) or name.count("/") != 1
    if looks_local and not path.is_dir():
        return f"The Smart Select model folder {name} does not exist (SEGMENT_MODEL)."
    return None
