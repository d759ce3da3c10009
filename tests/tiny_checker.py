"""A real StableDiffusionSafetyChecker with a tiny CLIP, built offline, and a fake checker."""

from __future__ import annotations

import threading
from pathlib import Path


def build_tiny_checker(folder: Path, threshold: float) -> Path:
    """A StableDiffusionSafetyChecker with a tiny CLIP and its PIL image processor, saved to `folder`.

    Its concept thresholds are `threshold`: -1 flags everything, +1 nothing (cosine ≤ 1).
    """
    import torch
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 16,
        },
        projection_dim=8,
    )
    checker = StableDiffusionSafetyChecker(config)
    with torch.no_grad():
        checker.concept_embeds_weights.fill_(threshold)
        checker.special_care_embeds_weights.fill_(1.0)
    checker.save_pretrained(folder)
    CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        folder
    )
    return folder


class FakeChecker:
    """Flags the images at the given positions of each check (0-based); records its calls and
    the thread each ran on. `broken`: every check raises."""

    def __init__(self, flagged: set[int] = frozenset(), *, broken: bool = False) -> None:
        self.flagged = set(flagged)
        self.broken = broken
        self.calls = 0
        self.threads: list[threading.Thread] = []

    def check(self, images):
        self.calls += 1
        self.threads.append(threading.current_thread())
        if self.broken:
            raise RuntimeError("the checker model is missing")
        return [n in self.flagged for n in range(len(images))]
