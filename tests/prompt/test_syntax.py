"""The syntax rules: em dash, permutations, multi-prompts, image links, empty and oversized prompts."""

from __future__ import annotations

import pytest

from bot.errors import EmptyPrompt, InvalidLink, InvalidParameter, InvalidPrompt
from bot.prompt import PromptContext, expand_prompt


def prompts(text: str, context: PromptContext) -> list[str]:
    return [request.prompt for request in expand_prompt(text, context)]


@pytest.mark.parametrize(
    ("text", "expected_prompt", "expected_aspect"),
    [
        ("a cat —ar 16:9", "a cat", (16, 9)),
        ("a cat —ar 16:9 —s 50", "a cat", (16, 9)),
        ("cat—dog", "cat—dog", (1, 1)),
        ("a cat --ar 3:2", "a cat", (3, 2)),
        ("cat--dog", "cat--dog", (1, 1)),
        ("a -- b", "a -- b", (1, 1)),
    ],
)
def test_em_dash_starts_a_parameter_like_double_dash(one, text, expected_prompt, expected_aspect) -> None:
    """`—ar` means `--ar`; dashes inside words stay text."""
    request = one(text)
    assert (request.prompt, request.aspect) == (expected_prompt, expected_aspect)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a {red, green} bird", ["a red bird", "a green bird"]),
        ("{a, b} {c, d}", ["a c", "a d", "b c", "b d"]),
        ("a {b {c, d}, e}", ["a b c", "a b d", "a e"]),
        ("a {red\\, white, blue} flag", ["a red, white flag", "a blue flag"]),
        ("a red\\, white flag", ["a red, white flag"]),
        ("{, big} dog", ["dog", "big dog"]),
        ("x \\{literal\\}", ["x {literal}"]),
        ("{ spaced ,  out }", ["spaced", "out"]),
        ("{only}", ["only"]),
    ],
)
def test_permutations_expand_in_order(context: PromptContext, text: str, expected: list[str]) -> None:
    """Groups give one job per option, multiply, nest, and honour `\\,` as a literal comma."""
    assert prompts(text, context) == expected


def test_permutations_work_inside_parameters(context: PromptContext) -> None:
    """`--ar {1:1, 16:9}` gives one job per aspect ratio, `--no` options keep escaped commas."""
    requests = expand_prompt("a cat --ar {1:1, 16:9} --no {x, y\\, z}", context)
    assert [(r.aspect, r.negative_prompt) for r in requests] == [
        ((1, 1), "x"),
        ((1, 1), "y, z"),
        ((16, 9), "x"),
        ((16, 9), "y, z"),
    ]


@pytest.mark.parametrize(
    ("text", "jobs"),
    [
        ("{a,b,c,d,e} {1,2,3,4,5,6,7,8}", 40),
        ("{a,b,c,d} {1,2,3,4,5} --r 2", 40),
        ("a cat --r {2, 3}", 5),
    ],
)
def test_up_to_forty_jobs_are_allowed(context: PromptContext, text: str, jobs: int) -> None:
    """Permutations × --repeat up to 40 jobs go through."""
    assert len(expand_prompt(text, context)) == jobs


@pytest.mark.parametrize(
    "text",
    [
        "{a,b,c,d,e,f,g} {1,2,3,4,5,6}",
        "{a,b,c} {1,2,3,4,5,6,7} --r 2",
        "a cat --r 40 --seed {1, 2}",
        "{a,b}" * 200,
        "{" * 5000 + "x" + "}" * 5000,
    ],
)
def test_more_than_forty_jobs_or_deep_nesting_is_invalid(context: PromptContext, text: str) -> None:
    """Too many jobs or absurd nesting is an `Invalid prompt`, found without expanding it all."""
    with pytest.raises(InvalidPrompt):
        expand_prompt(text, context)


@pytest.mark.parametrize("text", ["a {b", "a } b", "a {b, {c} d", "--ar {1:1"])
def test_unbalanced_braces_are_invalid(context: PromptContext, text: str) -> None:
    """An unclosed or unopened brace is an `Invalid prompt` that says how to write a literal one."""
    with pytest.raises(InvalidPrompt, match=r"\\"):
        expand_prompt(text, context)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hot dog", []),
        ("hot:: dog", [("hot", 1.0), ("dog", 1.0)]),
        ("hot::2 dog", [("hot", 2.0), ("dog", 1.0)]),
        ("a:: b::2", [("a", 1.0), ("b", 2.0)]),
        ("cat:: dog::-0.5", [("cat", 1.0), ("dog", -0.5)]),
        ("a::.5 b::1.5", [("a", 0.5), ("b", 1.5)]),
        ("space ship::", [("space ship", 1.0)]),
        ("a::0 b", [("a", 0.0), ("b", 1.0)]),
    ],
)
def test_multi_prompt_weights(one, text: str, expected: list[tuple[str, float]]) -> None:
    """`::` splits the prompt into weighted parts; the prompt text keeps what was typed."""
    request = one(text)
    assert [(part.text, part.weight) for part in request.weighted_prompts] == expected
    assert request.prompt == text


@pytest.mark.parametrize("text", ["a::-1", "a::1 b::-2", "a::-1 b::1", "::2 a", "a::101 b"])
def test_multi_prompt_bad_weights_are_invalid(context: PromptContext, text: str) -> None:
    """Weights must add up to more than zero, stay within ±100 and follow some text."""
    with pytest.raises(InvalidPrompt):
        expand_prompt(text, context)


def test_no_is_a_negative_prompt_not_a_weighted_part(one) -> None:
    """`--no x` goes to the negative prompt (the counterpart of `x::-.5`), the weights stay empty."""
    request = one("a garden --no flowers, people")
    assert request.negative_prompt == "flowers, people"
    assert request.weighted_prompts == ()
    assert request.prompt == "a garden"


@pytest.mark.parametrize(
    ("text", "urls", "prompt"),
    [
        ("https://e.com/a.png a cat", ("https://e.com/a.png",), "a cat"),
        ("<https://e.com/a.png> a cat", ("https://e.com/a.png",), "a cat"),
        ("http://e.com/a.png https://e.com/b.jpg", ("http://e.com/a.png", "https://e.com/b.jpg"), ""),
        ("HTTPS://E.com/a.png a cat --iw 2", ("HTTPS://E.com/a.png",), "a cat"),
        ("a cat https://e.com/a.png", (), "a cat https://e.com/a.png"),
    ],
)
def test_image_links_come_off_the_front(one, text: str, urls: tuple[str, ...], prompt: str) -> None:
    """http(s) links at the start are image prompts; a link later in the text is just text."""
    request = one(text)
    assert (request.image_urls, request.prompt) == (urls, prompt)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("https://e.com/a.png", InvalidPrompt),
        ("https://e.com/a.png --ar 16:9", InvalidPrompt),
        ("ftp://e.com/a.png a cat", InvalidLink),
        ("file:///etc/passwd a cat", InvalidLink),
        ("https:///no-host a cat", InvalidLink),
        ("http://[::1 a cat", InvalidLink),
        (" ".join(["https://e.com/a.png"] * 6) + " a cat", InvalidPrompt),
    ],
)
def test_bad_image_prompts(context: PromptContext, text: str, error: type[Exception]) -> None:
    """Only http(s) links; one image needs text; at most five images."""
    with pytest.raises(error):
        expand_prompt(text, context)


@pytest.mark.parametrize("text", ["", "   ", "--ar 16:9", "::", "{,}", "\x00\x01"])
def test_nothing_to_imagine_is_an_empty_prompt(context: PromptContext, text: str) -> None:
    """A prompt without text is an `Empty prompt`."""
    with pytest.raises(EmptyPrompt):
        expand_prompt(text, context)


def test_parameters_before_text_say_they_go_at_the_end(context: PromptContext) -> None:
    """Text after a parameter's value is a bad value, and the message says where parameters go."""
    with pytest.raises(InvalidParameter, match="end of the prompt"):
        expand_prompt("--ar 16:9 a cat", context)


def test_too_long_prompt_is_invalid(context: PromptContext) -> None:
    """A prompt beyond Discord's 6000 characters is refused before any work."""
    with pytest.raises(InvalidPrompt, match="6000"):
        expand_prompt("a" * 6001, context)


def test_whitespace_and_control_characters_are_tidied(one) -> None:
    """Runs of spaces, tabs, newlines and control characters become single spaces."""
    assert one("a\tred\x00  cat\n--s 5").prompt == "a red cat"
