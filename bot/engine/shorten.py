"""/shorten: which words of a prompt matter to the configured model's own CLIP text encoder.

A word's importance is how far the pooled text embedding moves (1 − cosine similarity) when
the word is removed from the prompt; importances are normalised so the largest is 1. Words
under `STRIKE_BELOW` are struck out. Up to five shorter prompts keep the words above rising
cut-offs, in their original order. Runs on the GPU worker (one encoder pass per word).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["STRIKE_BELOW", "ShortenAnalysis", "analyse_prompt", "pooled_embedding"]

STRIKE_BELOW = 0.35
MAX_SHORTER = 5
# Fractions of the words (least important first) each shorter prompt leaves out.
_CUTS = (0.2, 0.35, 0.5, 0.65, 0.8)
_WORD = re.compile(r"[^\s,]+")


@dataclass(frozen=True)
class ShortenAnalysis:
    """Words with their importance (0..1, prompt order) and the shorter prompts."""

    words: list[tuple[str, float]]
    shorter: list[str]

    def ranked(self) -> list[tuple[str, float]]:
        """Words, most important first."""
        return sorted(self.words, key=lambda item: -item[1])

    def to_dict(self) -> dict[str, Any]:
        return {"words": [[word, score] for word, score in self.words], "shorter": list(self.shorter)}


def pooled_embedding(encoder: Any, tokenizer: Any, texts: list[str]) -> Any:
    """The encoder's pooled output (projected when it has a projection) for each text."""
    import torch

    tokens = tokenizer(
        texts,
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    )
    with torch.inference_mode():
        output = encoder(tokens.input_ids.to(encoder.device))
    pooled = getattr(output, "text_embeds", None)
    return (pooled if pooled is not None else output.pooler_output).float()


def analyse_prompt(encoder: Any, tokenizer: Any, prompt: str) -> ShortenAnalysis:
    """Rank the words of `prompt` by how far removing each moves the pooled embedding."""
    import torch

    words = _WORD.findall(prompt)
    if not words:
        return ShortenAnalysis([], [])
    without = [_join(words[:n] + words[n + 1 :]) for n in range(len(words))]
    embeddings = pooled_embedding(encoder, tokenizer, [_join(words), *without])
    full, rest = embeddings[:1], embeddings[1:]
    distances = 1 - torch.nn.functional.cosine_similarity(rest, full.expand_as(rest), dim=-1)
    distances = distances.clamp_min(0)
    top = float(distances.max()) or 1.0
    scores = [round(float(d) / top, 3) for d in distances]
    return ShortenAnalysis(list(zip(words, scores, strict=True)), _shorter(words, scores))


def _join(words: list[str]) -> str:
    return " ".join(words)


def _shorter(words: list[str], scores: list[float]) -> list[str]:
    order = sorted(range(len(words)), key=lambda n: scores[n])  # least important first
    prompts: list[str] = []
    for cut in _CUTS:
        dropped = set(order[: int(len(words) * cut)])
        if not dropped:
            continue
        text = _join([word for n, word in enumerate(words) if n not in dropped])
        if text and text not in prompts:
            prompts.append(text)
    return prompts[:MAX_SHORTER]
