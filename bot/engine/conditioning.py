"""Turn a request's (multi-)prompt into text embeddings, with compel doing the weighting.

Midjourney weights (`a::2 b::1`) are relative, so positive weights are divided by their mean:
`a::1 b::1` is exactly `a b`, and `a::2 b` leans towards `a`. Parts with a negative weight join
the negative prompt at twice their relative size, so `x::-.5` conditions like `--no x` (which
puts `x` in the negative prompt at weight 1), as Midjourney documents. compel applies each
fragment's weight to its tokens; fragments are built as compel objects, never as compel syntax,
so brackets and signs in user text are just text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from compel import CompelForSD, CompelForSDXL
from compel.prompt_parser import Conjunction, FlattenedPrompt, Fragment

from bot.engine.request import GenerationRequest, WeightedPrompt

Fragments = list[tuple[str, float]]


def weighted_fragments(request: GenerationRequest) -> tuple[Fragments, Fragments]:
    """(positive, negative) text fragments with compel weights, from a request."""
    parts = request.weighted_prompts or (WeightedPrompt(request.prompt, 1.0),)
    positive = [part for part in parts if part.weight > 0]
    mean = sum(part.weight for part in positive) / len(positive) if positive else 1.0
    positive_fragments = [(part.text.strip(), part.weight / mean) for part in positive if part.text.strip()]
    negative_fragments: Fragments = []
    if request.negative_prompt.strip():
        negative_fragments.append((request.negative_prompt.strip(), 1.0))
    negative_fragments += [(part.text.strip(), -2 * part.weight / mean) for part in parts if part.weight < 0]
    return positive_fragments or [("", 1.0)], negative_fragments or [("", 1.0)]


def _conjunction(fragments: Fragments) -> Conjunction:
    return Conjunction([FlattenedPrompt([Fragment(text, weight) for text, weight in fragments])])


def chaos_batch(prompt_embeds: torch.Tensor, batch_size: int, chaos: float, seeds: list[int]) -> torch.Tensor:
    """`prompt_embeds` (batch of 1) repeated for a batch; with chaos > 0 each image gets its own
    seeded nudge of the prompt (--chaos), the same for every model family."""
    embeds = prompt_embeds.repeat(batch_size, 1, 1)
    if chaos > 0:
        scale = chaos * 0.6 * float(prompt_embeds.float().std())
        noise = torch.stack(
            [
                torch.randn(prompt_embeds.shape[1:], generator=torch.Generator().manual_seed(seed ^ 0x5EED))
                for seed in seeds
            ]
        )
        embeds = embeds + (noise * scale).to(embeds.device, embeds.dtype)
    return embeds


@dataclass
class Conditioning:
    """Pipeline keyword arguments for one prompt (batch of 1)."""

    prompt_embeds: torch.Tensor
    negative_prompt_embeds: torch.Tensor
    pooled_prompt_embeds: torch.Tensor | None = None
    negative_pooled_prompt_embeds: torch.Tensor | None = None

    def for_batch(self, batch_size: int, chaos: float, seeds: list[int]) -> dict[str, Any]:
        """Repeat for a batch; with chaos > 0 each image gets its own seeded nudge of the prompt."""
        embeds = chaos_batch(self.prompt_embeds, batch_size, chaos, seeds)
        kwargs: dict[str, Any] = {
            "prompt_embeds": embeds,
            "negative_prompt_embeds": self.negative_prompt_embeds.repeat(batch_size, 1, 1),
        }
        if self.pooled_prompt_embeds is not None:
            kwargs["pooled_prompt_embeds"] = self.pooled_prompt_embeds.repeat(batch_size, 1)
            kwargs["negative_pooled_prompt_embeds"] = self.negative_pooled_prompt_embeds.repeat(batch_size, 1)
        return kwargs


class PromptEncoder:
    """Encodes weighted prompts for one pipeline (SD 1.x/2.x or SDXL) through compel."""

    def __init__(self, pipeline: Any, is_sdxl: bool) -> None:
        self.is_sdxl = is_sdxl
        if is_sdxl:
            wrapper = CompelForSDXL(pipeline)
            self._compels = [wrapper.compel_1, wrapper.compel_2]
        else:
            self._compels = [CompelForSD(pipeline).compel]

    @torch.no_grad()
    def encode(self, request: GenerationRequest) -> Conditioning:
        positive, negative = weighted_fragments(request)
        pairs = []
        for compel in self._compels:
            cond = compel.build_conditioning_tensor_for_conjunction(_conjunction(positive))[0]
            uncond = compel.build_conditioning_tensor_for_conjunction(_conjunction(negative))[0]
            pairs.append(compel.pad_conditioning_tensors_to_same_length([cond, uncond]))
        if not self.is_sdxl:
            cond, uncond = pairs[0]
            return Conditioning(cond, uncond)
        # SDXL: both encoders' hidden states side by side, pooled output of the second one.
        length = max(tensor.shape[1] for pair in pairs for tensor in pair)
        padded = [
            self._compels[i].pad_conditioning_tensors_to_same_length(
                [*pair, torch.zeros(1, length, pair[0].shape[2], dtype=pair[0].dtype, device=pair[0].device)]
            )[:2]
            for i, pair in enumerate(pairs)
        ]
        cond = torch.cat([padded[0][0], padded[1][0]], dim=-1)
        uncond = torch.cat([padded[0][1], padded[1][1]], dim=-1)
        provider = self._compels[1].conditioning_provider
        pooled = provider.get_pooled_embeddings([" ".join(text for text, _ in positive)])
        negative_pooled = provider.get_pooled_embeddings([" ".join(text for text, _ in negative)])
        return Conditioning(cond, uncond, pooled, negative_pooled)
