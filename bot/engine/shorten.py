"""/shorten: which words of a prompt matter to the configured model's own CLIP text encoder.

A word's importance is how far the pooled text embedding moves (1 − cosine similarity) when
the word is removed from the prompt; importances are normalised so the largest is 1. Words
under `STRIKE_BELOW` are struck out. Up to five shorter prompts keep the words above rising
cut-offs, in their original order. Runs on the GPU worker (one encoder pass per word).

The prompt's comma-separated phrases are kept, as Midjourney's shorter prompts keep them: every
text the encoder sees (the prompt, the prompt without one word) and every shorter prompt is the
surviving words of each phrase, phrases joined by ", "; a phrase that lost all its words is left
out with its comma, so no comma is doubled or trailing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "STRIKE_BELOW",
    "ShortenAnalysis",
    "analyse_prompt",
    "join_phrases",
    "pooled_embedding",
    "split_phrases",
]

STRIKE_BELOW = 0.35
MAX_SHORTER = 5
# Fractions of the words (least important first) each shorter prompt leaves out.
_CUTS = (0.2, 0.35, 0.5, 0.65, 0.8)
_WORD = re.compile(r"[^\s,]+")
_PHRASE_SEPARATOR = ","


@dataclass(frozen=True)
class ShortenAnalysis:
    """Words with their importance (0..1, prompt order), the phrase each word belongs to
    (0-based, prompt order) and the shorter prompts."""

    words: list[tuple[str, float]]
    shorter: list[str]
    phrases: list[int] = field(default_factory=list)

    def ranked(self) -> list[tuple[str, float]]:
        """Words, most important first."""
        return sorted(self.words, key=lambda item: -item[1])

    def to_dict(self) -> dict[str, Any]:
        return {
            "words": [[word, score] for word, score in self.words],
            "phrases": list(self.phrases),
            "shorter": list(self.shorter),
        }


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

    words, phrases = split_phrases(prompt)
    if not words:
        return ShortenAnalysis([], [])
    everything = set(range(len(words)))
    texts = [join_phrases(words, phrases, everything)]
    texts += [join_phrases(words, phrases, everything - {n}) for n in range(len(words))]
    embeddings = pooled_embedding(encoder, tokenizer, texts)
    full, rest = embeddings[:1], embeddings[1:]
    distances = 1 - torch.nn.functional.cosine_similarity(rest, full.expand_as(rest), dim=-1)
    distances = distances.clamp_min(0)
    top = float(distances.max()) or 1.0
    scores = [round(float(d) / top, 3) for d in distances]
    return ShortenAnalysis(
        list(zip(words, scores, strict=True)), _shorter(words, phrases, scores), list(phrases)
    )


def split_phrases(prompt: str) -> tuple[list[str], list[int]]:
    """The words of `prompt` and, for each, the number of its comma-separated phrase (empty
    phrases, as in `a,,b`, are not counted)."""
    words: list[str] = []
    phrases: list[int] = []
    for phrase in prompt.split(_PHRASE_SEPARATOR):
        found = _WORD.findall(phrase)
        if not found:
            continue
        number = phrases[-1] + 1 if phrases else 0
        words.extend(found)
        phrases.extend([number] * len(found))
    return words, phrases


def join_phrases(words: list[str], phrases: list[int], kept: set[int]) -> str:
    """The words numbered in `kept`, phrase by phrase: words joined by spaces, the phrases that
    still have words joined by ", "."""
    grouped: dict[int, list[str]] = {}
    for n, (word, phrase) in enumerate(zip(words, phrases, strict=True)):
        if n in kept:
            grouped.setdefault(phrase, []).append(word)
    return f"{_PHRASE_SEPARATOR} ".join(" ".join(group) for group in grouped.values())


def _shorter(words: list[str], phrases: list[int], scores: list[float]) -> list[str]:
    order = sorted(range(len(words)), key=lambda n: scores[n])  # least important first
    prompts: list[str] = []
    for cut in _CUTS:
        dropped = set(order[: int(len(words) * cut)])
        if not dropped:
            continue
        text = join_phrases(words, phrases, set(range(len(words))) - dropped)
        if text and text not in prompts:
            prompts.append(text)
    return prompts[:MAX_SHORTER]
