"""Multi-prompt weights reach the text embeddings through compel, as Midjourney users expect."""

from __future__ import annotations

import pytest
import torch

from bot.engine.conditioning import weighted_fragments
from bot.engine.family import TINY
from bot.prompt import PromptContext, expand_prompt


def generation(text: str):
    """Parse like /imagine does and resolve at a fixed seed."""
    [imagine] = expand_prompt(text, PromptContext(family=TINY))
    return imagine.to_generation(seed=1)


def embeds(engine, text: str) -> tuple[torch.Tensor, torch.Tensor]:
    conditioning = engine._encoder.encode(generation(text))
    return conditioning.prompt_embeds, conditioning.negative_prompt_embeds


@pytest.mark.parametrize(
    ("text", "positive", "negative"),
    [
        ("a red fox", [("a red fox", 1.0)], [("", 1.0)]),
        ("fox:: snow::", [("fox", 1.0), ("snow", 1.0)], [("", 1.0)]),
        ("fox::2 snow::2", [("fox", 1.0), ("snow", 1.0)], [("", 1.0)]),
        ("fox::3 snow", [("fox", 1.5), ("snow", 0.5)], [("", 1.0)]),
        ("fox:: dog::-0.5", [("fox", 1.0)], [("dog", 1.0)]),
        ("fox --no dog, cat", [("fox", 1.0)], [("dog, cat", 1.0)]),
    ],
)
def test_weights_are_relative_and_negative_parts_join_the_negative_prompt(text, positive, negative):
    """Positive weights are divided by their mean; `x::-.5` weighs like `--no x`."""
    got_positive, got_negative = weighted_fragments(generation(text))
    for got, expected in ((got_positive, positive), (got_negative, negative)):
        assert [fragment for fragment, _ in got] == [fragment for fragment, _ in expected]
        assert [weight for _, weight in got] == pytest.approx([weight for _, weight in expected])


def test_weighting_changes_the_embeddings(tiny_engine):
    """`a::2 b` conditions differently from `a b`."""
    plain, _ = embeds(tiny_engine, "a red fox:: snowy forest::")
    weighted, _ = embeds(tiny_engine, "a red fox::2 snowy forest")
    assert plain.shape == weighted.shape
    assert (plain - weighted).abs().max() > 1e-3


def test_equal_weights_equal_the_plain_prompt(tiny_engine):
    """`a::1 b::1` gives the embeddings of `a b` up to numerical noise."""
    plain, _ = embeds(tiny_engine, "a red fox snowy forest")
    split, _ = embeds(tiny_engine, "a red fox::1 snowy forest::1")
    torch.testing.assert_close(split, plain, atol=1e-5, rtol=1e-5)


def test_negative_weight_matches_no(tiny_engine):
    """`fox:: dog::-.5` and `fox --no dog` give the same positive and negative embeddings."""
    multi = embeds(tiny_engine, "fox:: dog::-.5")
    no = embeds(tiny_engine, "fox --no dog")
    torch.testing.assert_close(multi[0], no[0])
    torch.testing.assert_close(multi[1], no[1])


def test_brackets_and_signs_in_text_are_plain_text(tiny_engine):
    """Characters that are compel syntax are encoded literally, not as weights."""
    literal, _ = embeds(tiny_engine, "a (red) fox+ [sketch]")
    other, _ = embeds(tiny_engine, "a red fox sketch")
    assert literal.shape == other.shape
    assert (literal - other).abs().max() > 1e-4


def test_long_prompts_are_not_truncated(tiny_engine):
    """Prompts beyond 77 tokens are encoded in chunks rather than cut off."""
    short, _ = embeds(tiny_engine, "fox")
    long, negative = embeds(tiny_engine, "a red fox in the deep snowy forest at dawn " * 4)
    assert long.shape[1] > short.shape[1]
    assert negative.shape == long.shape
