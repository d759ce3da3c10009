"""/describe: four prompt suggestions for an image (a captioner plus CLIP-ranked phrase banks).

The captioner (`DESCRIBE_MODEL`, a BLIP-class model loaded with transformers) writes what is in
the picture; CLIP (`DESCRIBE_CLIP`) ranks the medium, style and lighting phrases of
`phrase_banks.py` against the image. Suggestion n = caption n + the phrases ranked near the top,
each suggestion taking different ones, and Midjourney's `--ar` of the image. `seed` picks among
the best phrases and samples the captions, so 🔄 gives four new suggestions.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Any

from PIL import Image

from bot.engine.phrase_banks import PHRASE_BANKS
from bot.errors import JobFailed

__all__ = ["DescribeModels", "Describer", "aspect_of", "resolve_describe_models"]

log = logging.getLogger(__name__)

SUGGESTIONS = 4
# Each suggestion picks among this many of a bank's best-ranked phrases.
_TOP = 6


@dataclass(frozen=True)
class DescribeModels:
    """Where the captioner and the CLIP model come from (folders or hub repo ids)."""

    captioner: str
    clip: str
    # Build the embedded tiny models into this folder first (DESCRIBE_MODEL=tiny).
    tiny_folder: str = ""


def resolve_describe_models(captioner: str, clip: str, models_dir: Path) -> DescribeModels:
    """What DESCRIBE_MODEL / DESCRIBE_CLIP name; "tiny" means the embedded test models."""
    tiny = models_dir / "tiny-describe"
    uses_tiny = "tiny" in (captioner.strip().lower(), clip.strip().lower())
    return DescribeModels(
        captioner=str(tiny / "captioner") if captioner.strip().lower() == "tiny" else captioner.strip(),
        clip=str(tiny / "clip") if clip.strip().lower() == "tiny" else clip.strip(),
        tiny_folder=str(tiny) if uses_tiny else "",
    )


def aspect_of(image: Image.Image) -> str:
    """The image's aspect ratio as Midjourney writes it (`3:2`), reduced."""
    divisor = gcd(image.width, image.height) or 1
    width, height = image.width // divisor, image.height // divisor
    if max(width, height) > 64:  # an odd size: round to a readable ratio
        ratio = image.width / image.height
        width, height = (round(ratio * 10), 10) if ratio >= 1 else (10, round(10 / ratio))
        divisor = gcd(width, height)
        width, height = width // divisor, height // divisor
    return f"{width}:{height}"


class Describer:
    """Loads the captioner and CLIP on first use (on the GPU worker thread) and describes images."""

    def __init__(self, models: DescribeModels, device: Any) -> None:
        self.models = models
        self.device = device
        self._loaded: tuple[Any, Any, Any, Any] | None = None
        self._bank_features: dict[str, Any] = {}
        self._failed: str | None = None  # a failed load is not tried again: it would hold the queue

    def _load(self) -> tuple[Any, Any, Any, Any]:
        if self._failed is not None:
            raise JobFailed(self._failed)
        if self._loaded is None:
            from transformers import AutoModelForImageTextToText, AutoProcessor, CLIPModel, CLIPProcessor

            if self.models.tiny_folder:
                from bot.engine.tiny_references import build_tiny_describe_models

                build_tiny_describe_models(Path(self.models.tiny_folder))
            log.info("Loading describe models %s and %s", self.models.captioner, self.models.clip)
            try:
                processor = AutoProcessor.from_pretrained(self.models.captioner)
                captioner = AutoModelForImageTextToText.from_pretrained(self.models.captioner)
                clip_processor = CLIPProcessor.from_pretrained(self.models.clip)
                clip = CLIPModel.from_pretrained(self.models.clip)
            except Exception as error:  # transformers/hub raise many types; name the settings
                # The reason is for the operator's log; members read which settings to fix.
                log.warning("/describe could not load its models: %s", " ".join(str(error).split())[:500])
                self._failed = (
                    f"Describe is not set up on this bot: its models (DESCRIBE_MODEL `{self.models.captioner}`, "
                    f"DESCRIBE_CLIP `{self.models.clip}`) could not be loaded."
                )
                raise JobFailed(self._failed) from None
            captioner = captioner.to(self.device).eval()
            clip = clip.to(self.device).eval()
            self._loaded = (processor, captioner, clip_processor, clip)
        return self._loaded

    def captions(self, image: Image.Image, seed: int, count: int = SUGGESTIONS) -> list[str]:
        """`count` captions by seeded sampling (a new seed gives new captions)."""
        import torch

        processor, captioner, _, _ = self._load()
        inputs = processor(images=image.convert("RGB"), return_tensors="pt").to(self.device)
        torch.manual_seed(seed)
        with torch.inference_mode():
            ids = captioner.generate(
                **inputs, max_new_tokens=20, do_sample=True, top_p=0.9, num_return_sequences=count
            )
        texts = [" ".join(processor.decode(row, skip_special_tokens=True).split()) for row in ids]
        return [text or "an image" for text in texts]

    def rank_phrases(self, image: Image.Image) -> dict[str, list[str]]:
        """Each bank's phrases, best match for the image first (CLIP cosine similarity)."""
        import torch

        _, _, clip_processor, clip = self._load()
        with torch.inference_mode():
            pixels = clip_processor(images=image.convert("RGB"), return_tensors="pt").to(self.device)
            features = _unit(_features(clip.get_image_features(**pixels)))
            ranked = {}
            for bank, phrases in PHRASE_BANKS.items():
                if bank not in self._bank_features:
                    text = clip_processor(text=list(phrases), return_tensors="pt", padding=True).to(
                        self.device
                    )
                    self._bank_features[bank] = _unit(_features(clip.get_text_features(**text)))
                scores = (self._bank_features[bank] @ features.T).squeeze(-1)
                order = torch.argsort(scores, descending=True).tolist()
                ranked[bank] = [phrases[i] for i in order]
        return ranked

    def describe(self, image: Image.Image, seed: int = 0) -> list[str]:
        """Four distinct prompt suggestions in Midjourney's shape: `caption, medium, style, light --ar W:H`."""
        captions = self.captions(image, seed)
        ranked = self.rank_phrases(image)
        chooser = random.Random(seed)
        picks = {bank: _distinct_picks(phrases[:_TOP], chooser, seed) for bank, phrases in ranked.items()}
        aspect = aspect_of(image)
        suggestions: list[str] = []
        for n in range(SUGGESTIONS):
            parts = [captions[n], *(picks[bank][n] for bank in ranked)]
            suggestions.append(", ".join(parts) + f" --ar {aspect}")
        return suggestions


def _features(output: Any) -> Any:
    """transformers 5 may return a model output instead of the bare projected tensor."""
    return output if hasattr(output, "norm") else output.pooler_output


def _unit(tensor: Any) -> Any:
    return tensor / tensor.norm(dim=-1, keepdim=True).clamp_min(1e-8)


def _distinct_picks(best: list[str], chooser: random.Random, seed: int) -> list[str]:
    """Four different phrases from a bank's best: in rank order at seed 0, shuffled after."""
    choices = list(best)
    if seed:
        chooser.shuffle(choices)
    while len(choices) < SUGGESTIONS:
        choices += choices
    return choices[:SUGGESTIONS]
