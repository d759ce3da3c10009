"""Every Midjourney parameter: its aliases, bounds, default, and what bad values say."""

from __future__ import annotations

import pytest

from bot.errors import InvalidParameter
from bot.prompt import PromptContext, expand_prompt

# (parameters typed after "a cat", ImagineRequest field, expected value)
VALID = [
    ("--ar 16:9", "aspect", (16, 9)),
    ("--aspect 2:3", "aspect", (2, 3)),
    ("--ar 4:1", "aspect", (4, 1)),
    ("--ar 1:4", "aspect", (1, 4)),
    ("--c 0", "chaos", 0),
    ("--chaos 100", "chaos", 100),
    ("--no text", "negative_prompt", "text"),
    ("--no text, watermark ,  logo", "negative_prompt", "text, watermark, logo"),
    ("--q .25", "quality", 0.25),
    ("--q 0.5", "quality", 0.5),
    ("--quality 1", "quality", 1.0),
    ("--q 2", "quality", 2.0),
    ("--seed 0", "seed", 0),
    ("--seed 4294967295", "seed", 4294967295),
    ("--stop 10", "stop", 10),
    ("--stop 100", "stop", 100),
    ("--s 0", "stylize", 0),
    ("--stylize 1000", "stylize", 1000),
    ("--style raw", "style", "raw"),
    ("--style RAW", "raw", True),
    ("--tile", "tile", True),
    ("--v 6", "model", "org/model-six"),
    ("--version 6", "version", "6"),
    ("--niji", "model", "anime.safetensors"),
    ("--niji 6", "model", "anime6.safetensors"),
    ("--niji 5", "model", "anime.safetensors"),
    ("--w 0", "weird", 0),
    ("--weird 3000", "weird", 3000),
    ("--iw 0", "image_weight", 0.0),
    ("--iw 2.5", "image_weight", 2.5),
    ("--iw 3", "image_weight", 3.0),
    ("--fast", "speed", "fast"),
    ("--relax", "speed", "relax"),
    ("--turbo", "speed", "turbo"),
    ("--AR 3:2", "aspect", (3, 2)),
]

DEFAULTS = [
    ("aspect", (1, 1)),
    ("chaos", 0),
    ("negative_prompt", ""),
    ("quality", 1.0),
    ("seed", None),
    ("stop", 100),
    ("stylize", 100),
    ("style", ""),
    ("raw", False),
    ("tile", False),
    ("model", ""),
    ("version", ""),
    ("weird", 0),
    ("image_weight", 1.0),
    ("speed", "fast"),
    ("repeat", 0),
]

# (parameters typed after "a cat", substrings the error message must contain)
INVALID = [
    ("--ar 16:0", ["--ar", "16:0", "1:4 to 4:1"]),
    ("--ar 5:1", ["--ar", "5:1", "1:4 to 4:1"]),
    ("--ar 1.5:1", ["--ar", "1.5:1", "whole numbers"]),
    ("--aspect 16x9", ["--aspect", "16x9"]),
    ("--ar", ["--ar", "needs a value"]),
    ("--c 101", ["--c", "101", "0 to 100"]),
    ("--chaos -1", ["--chaos", "-1", "0 to 100"]),
    ("--c 5.5", ["--c", "5.5", "whole number"]),
    ("--no", ["--no", "needs a value"]),
    ("--no ,,", ["--no"]),
    ("--q 3", ["--q", "3", ".25, .5, 1, 2 or 4"]),
    ("--quality 0.3", ["--quality", "0.3"]),
    ("--q high", ["--q", "high"]),
    ("--r 1", ["--r", "1", "2 to 40"]),
    ("--repeat 41", ["--repeat", "41", "2 to 40"]),
    ("--seed 4294967296", ["--seed", "4294967296", "0 to 4294967295"]),
    ("--seed -1", ["--seed", "-1"]),
    ("--stop 9", ["--stop", "9", "10 to 100"]),
    ("--stop 101", ["--stop", "101", "10 to 100"]),
    ("--s 1001", ["--s", "1001", "0 to 1000"]),
    ("--stylize 1e3", ["--stylize", "1e3"]),
    ("--style nope", ["--style nope", "raw"]),
    ("--style", ["--style", "needs a value"]),
    ("--tile yes", ["--tile", "takes no value"]),
    ("--w 3001", ["--w", "3001", "0 to 3000"]),
    ("--iw 3.5", ["--iw", "3.5", "0 to 3"]),
    ("--iw -1", ["--iw", "-1"]),
    ("--fast please", ["--fast", "takes no value"]),
    ("--v 7.5", ["--v 7.5", "6, niji, niji6"]),
    ("--niji 7 8", ["--niji", "7 8"]),
    ("--stylise 50", ["--stylise", "Did you mean `--stylize`"]),
    ("--aspekt 1:1", ["--aspekt", "Did you mean `--aspect`"]),
    ("--chaoss 5", ["Did you mean `--chaos`"]),
    ("--tiles", ["Did you mean `--tile`"]),
    ("--ar16:9", ["`--ar16:9`", "Did you mean `--ar 16:9`"]),
    ("--s250", ["Did you mean `--s 250`"]),
]


@pytest.mark.parametrize(("params", "field", "expected"), VALID)
def test_parameter_values_and_aliases(one, params: str, field: str, expected: object) -> None:
    """Each parameter and alias sets its field, at both ends of its range."""
    assert getattr(one(f"a cat {params}"), field) == expected


@pytest.mark.parametrize(("field", "expected"), DEFAULTS)
def test_parameter_defaults(one, field: str, expected: object) -> None:
    """Without parameters each field has Midjourney's default."""
    assert getattr(one("a cat"), field) == expected


@pytest.mark.parametrize(("params", "fragments"), INVALID)
def test_bad_values_name_parameter_value_and_range(context: PromptContext, params: str, fragments) -> None:
    """A bad value is an `Invalid parameter` naming the parameter, the value and what is allowed."""
    with pytest.raises(InvalidParameter) as raised:
        expand_prompt(f"a cat {params}", context)
    assert str(raised.value).startswith("Invalid parameter: ")
    for fragment in fragments:
        assert fragment in raised.value.message


def test_unknown_parameter_without_close_match_has_no_suggestion(context: PromptContext) -> None:
    """A name like nothing known is rejected without a made-up suggestion."""
    with pytest.raises(InvalidParameter) as raised:
        expand_prompt("a cat --xyzzy 3", context)
    assert "`--xyzzy`" in raised.value.message
    assert "Did you mean" not in raised.value.message


@pytest.mark.parametrize(("params", "jobs"), [("", 1), ("--r 2", 2), ("--repeat 40", 40)])
def test_repeat_makes_that_many_jobs(context: PromptContext, params: str, jobs: int) -> None:
    """`--repeat N` gives N jobs numbered 0..N-1."""
    requests = expand_prompt(f"a cat {params}", context)
    assert [request.repeat for request in requests] == list(range(jobs))


def test_version_without_aliases_explains_the_setting() -> None:
    """An unknown `--v` with no MODEL_ALIASES says that none are set up."""
    with pytest.raises(InvalidParameter, match="MODEL_ALIASES"):
        expand_prompt("a cat --v 6.5", PromptContext())


@pytest.mark.parametrize(
    ("params", "field", "expected"),
    [
        ("--s 50 --s 200", "stylize", 200),
        ("--relax --fast", "speed", "fast"),
        ("--v 6 --niji", "model", "anime.safetensors"),
        ("--no a --no b, a", "negative_prompt", "a, b"),
    ],
)
def test_repeated_parameter_later_wins(one, params: str, field: str, expected: object) -> None:
    """A parameter given twice counts once, the later one wins; `--no` lists add up."""
    assert getattr(one(f"a cat {params}"), field) == expected


@pytest.mark.parametrize(("params", "expected"), [("--zoom 1", 1.0), ("--zoom 1.5", 1.5), ("--zoom 2", 2.0)])
def test_zoom_is_read_in_custom_zoom_prompts(context: PromptContext, params: str, expected: float) -> None:
    """Custom Zoom's prompt takes `--zoom` 1–2."""
    (request,) = expand_prompt(f"a cat --ar 16:9 {params}", context, custom_zoom=True)
    assert request.zoom == expected and request.aspect == (16, 9)


@pytest.mark.parametrize("value", ["0.9", "2.1", "x"])
def test_zoom_out_of_range_names_the_range(context: PromptContext, value: str) -> None:
    """`--zoom` outside 1–2 is an Invalid parameter naming the range."""
    with pytest.raises(InvalidParameter, match="a number from 1 to 2"):
        expand_prompt(f"a cat --zoom {value}", context, custom_zoom=True)


def test_zoom_is_refused_in_imagine(context: PromptContext) -> None:
    """/imagine refuses `--zoom` (Custom Zoom only, as Midjourney)."""
    with pytest.raises(InvalidParameter, match="only works with Custom Zoom"):
        expand_prompt("a cat --zoom 2", context)
