"""Personal settings: stylize levels, /settings as prompt defaults, /prefer options and suffix."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.errors import InvalidParameter, InvalidPrompt
from bot.governance.personal import (
    MAX_OPTIONS,
    STYLIZE_LEVELS,
    PersonalSettings,
    level_for_stylize,
    option_name,
    personal_context,
    stylize_level,
    user_defaults,
    validate_option,
    validate_suffix,
)
from bot.prompt import PromptContext, StylePreset, expand_prompt

FILM = StylePreset("film", "film still of {prompt}", "blurry", "--ar 16:9 --s 300")
BASE = PromptContext(model_aliases={"6": "org/six", "niji6": "anime6"}, presets={"film": FILM})


def test_stylize_levels_are_midjourneys() -> None:
    """/settings offers low 50, med 100, high 250 and very high 750, in that order."""
    assert [(level.key, level.value) for level in STYLIZE_LEVELS] == [
        ("low", 50),
        ("med", 100),
        ("high", 250),
        ("very-high", 750),
    ]
    assert [level.label for level in STYLIZE_LEVELS][-1] == "Stylize very high"


@pytest.mark.parametrize(
    ("value", "key"),
    [(50, "low"), (100, "med"), (250, "high"), (750, "very-high"), (300, None), (None, None)],
)
def test_level_for_a_stored_stylize_value(value: int | None, key: str | None) -> None:
    """The panel can highlight the level a stored --s value stands for, if any."""
    level = level_for_stylize(value)
    assert (level.key if level else None) == key
    if key is not None:
        assert stylize_level(key).value == value


def test_unknown_stylize_level_is_a_programming_error() -> None:
    """A button id that names no level is a bug, not user input."""
    with pytest.raises(ValueError, match="unknown stylize level"):
        stylize_level("extreme")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (PersonalSettings(), ""),
        (PersonalSettings(stylize=250), "--stylize 250"),
        (PersonalSettings(raw=True), "--style raw"),
        (PersonalSettings(speed="relax"), "--relax"),
        (PersonalSettings(speed="fast"), ""),
        (PersonalSettings(model="6"), "--v 6"),
        (PersonalSettings(remix=True, variation_mode="subtle", suffix="--ar 2:1"), ""),
        (
            PersonalSettings(model="niji6", stylize=750, raw=True, speed="relax"),
            "--v niji6 --stylize 750 --style raw --relax",
        ),
    ],
)
def test_user_defaults_from_settings(settings: PersonalSettings, expected: str) -> None:
    """Model, stylize, raw and relax become parameters; remix, variation mode and suffix do not."""
    assert user_defaults(settings) == expected


def test_a_model_alias_that_no_longer_exists_is_left_out() -> None:
    """If the operator removed the user's model alias, their prompts still work on the default."""
    assert user_defaults(PersonalSettings(model="5", stylize=50), versions=["6"]) == "--stylize 50"
    assert user_defaults(PersonalSettings(model="NIJI6"), versions=["niji6"]) == "--v NIJI6"


@pytest.mark.parametrize(
    ("settings", "text", "expected"),
    [
        (PersonalSettings(stylize=750), "a cat", {"stylize": 750}),
        (PersonalSettings(stylize=750), "a cat --s 20", {"stylize": 20}),
        (PersonalSettings(stylize=750), "a cat --style film", {"stylize": 750, "aspect": (16, 9)}),
        (PersonalSettings(raw=True), "a cat", {"style": "raw", "raw": True}),
        (
            PersonalSettings(raw=True),
            "a cat --style film",
            {"style": "film", "prompt": "film still of a cat"},
        ),
        (PersonalSettings(speed="relax"), "a cat", {"speed": "relax"}),
        (PersonalSettings(speed="relax"), "a cat --fast", {"speed": "fast"}),
        (PersonalSettings(model="6"), "a cat", {"model": "org/six"}),
        (
            PersonalSettings(suffix="oil painting --ar 3:2"),
            "a cat",
            {"prompt": "a cat oil painting", "aspect": (3, 2)},
        ),
    ],
)
def test_settings_shape_imagine_below_typed_parameters(settings, text: str, expected: dict) -> None:
    """Typed parameters beat settings; settings beat the style preset's parameters."""
    (request,) = expand_prompt(text, personal_context(BASE, settings))
    assert {field: getattr(request, field) for field in expected} == expected


def test_personal_context_carries_options() -> None:
    """Options given to `personal_context` expand in prompts."""
    context = personal_context(BASE, PersonalSettings(), {"wide": "--ar 21:9"})
    assert expand_prompt("a cat --wide", context)[0].aspect == (21, 9)


@pytest.mark.parametrize(
    ("field", "value"),
    [("variation_mode", "medium"), ("speed", "turbo"), ("stylize", 1001), ("stylize", -1)],
)
def test_settings_record_refuses_impossible_values(field: str, value: object) -> None:
    """A record with values /settings cannot produce is a mapping bug, caught at once."""
    with pytest.raises(ValueError, match=field):
        PersonalSettings(**{field: value})


@pytest.mark.parametrize(
    ("name", "expected"),
    [("wide", "wide"), ("--Wide", "wide"), ("—mood", "mood"), ("my_opt-2", "my_opt-2"), ("9x", "9x")],
)
def test_valid_option_names(name: str, expected: str) -> None:
    """Option names drop a typed `--` and fold to lower case."""
    assert option_name(name) == expected


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("ar", "built-in parameter"),
        ("--S", "built-in parameter"),
        ("no", "built-in parameter"),
        ("niji", "built-in parameter"),
        ("two words", "one word"),
        ("", "one word"),
        ("a{b}", "one word"),
        ("-x", "starting with a letter"),
        ("x" * 33, "up to 32"),
    ],
)
def test_invalid_option_names(name: str, match: str) -> None:
    """Built-in parameter names and aliases can't be shadowed; names are one plain word."""
    with pytest.raises(InvalidParameter, match=match):
        option_name(name)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("wide", "--ar 21:9 --s 500", ("wide", "--ar 21:9 --s 500")),
        ("--Mood", "  moody,\n dark ", ("mood", "moody, dark")),
        ("pair", "--ar {1:1, 2:1}", ("pair", "--ar {1:1, 2:1}")),
        ("six", "--v 6", ("six", "--v 6")),
        ("filmic", "--style film", ("filmic", "--style film")),
        ("wide", "", ("wide", None)),
        ("wide", "   ", ("wide", None)),
    ],
)
def test_valid_options(name: str, value: str, expected: tuple) -> None:
    """Text, parameters and permutations are fine; an empty value means delete."""
    assert validate_option(name, value, {}, BASE) == expected


FULL = {f"opt{index}": "--s 100" for index in range(MAX_OPTIONS)}


@pytest.mark.parametrize(
    ("name", "value", "existing", "error", "match"),
    [
        ("wide", "--ar 9:1", {}, InvalidParameter, "Option `--wide`: Invalid value `9:1` for `--ar`"),
        ("wide", "--ar 21:9 moody", {}, InvalidParameter, "Option `--wide`: Invalid value"),
        ("wide", "--widest", {}, InvalidParameter, "Unrecognized parameter `--widest`"),
        (
            "both",
            "--wide --s 50",
            {"wide": "--ar 2:1"},
            InvalidParameter,
            "`--wide` is another of your options",
        ),
        ("old", "--v 4.5", {}, InvalidParameter, "Option `--old`: Unknown model version"),
        ("cool", "--style cool", {}, InvalidParameter, "Unknown style"),
        ("many", "{a, b, c, d, e, f, g} {a, b, c, d, e, f, g}", {}, InvalidPrompt, "more than 40"),
        ("long", "x" * 1001, {}, InvalidPrompt, "limit is 1000"),
        ("new", "--s 50", FULL, InvalidParameter, f"already have {MAX_OPTIONS} options"),
        ("ar", "--ar 2:1", {}, InvalidParameter, "built-in parameter"),
    ],
)
def test_invalid_options_are_refused_with_a_clear_reason(name, value, existing, error, match) -> None:
    """What would fail at /imagine fails at /prefer, naming the option."""
    with pytest.raises(error, match=match):
        validate_option(name, value, existing, BASE)


@pytest.mark.parametrize("name", ["opt3", "--OPT3"])
def test_at_the_limit_an_existing_option_can_still_change_or_go(name: str) -> None:
    """With 20 options, replacing or deleting one of them is still allowed."""
    assert validate_option(name, "--s 250", FULL, BASE) == ("opt3", "--s 250")
    assert validate_option(name, "", FULL, BASE) == ("opt3", None)


def test_a_stored_option_works_in_imagine() -> None:
    """An option that validates expands as promised in a prompt."""
    name, value = validate_option("--Wide", "--ar 21:9 --s 500", {}, BASE)
    context = personal_context(BASE, PersonalSettings(), {name: value})
    request = expand_prompt("a cat --wide", context)[0]
    assert (request.aspect, request.stylize) == ((21, 9), 500)


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        ("", ""),
        ("   ", ""),
        ("  highly detailed \n --ar 3:2 ", "highly detailed --ar 3:2"),
        ("--style film", "--style film"),
        ("{oil, ink}", "{oil, ink}"),
        ("--wide", "--wide"),
    ],
)
def test_valid_suffixes(suffix: str, expected: str) -> None:
    """A suffix may hold text, parameters, permutations and the user's own options; empty clears it."""
    assert validate_suffix(suffix, replace(BASE, options={"wide": "--ar 21:9"})) == expected


@pytest.mark.parametrize(
    ("suffix", "error", "match"),
    [
        ("--chaos 500", InvalidParameter, r"Invalid value `500` for `--chaos`.*\(from your suffix\)"),
        ("--wide", InvalidParameter, r"Unrecognized parameter `--wide`"),
        ("--style nope", InvalidParameter, "Suffix: Unknown style"),
        ("x" * 1001, InvalidPrompt, "limit is 1000"),
        ("{a, b, c, d, e, f, g} {a, b, c, d, e, f, g}", InvalidPrompt, "more than 40"),
    ],
)
def test_invalid_suffixes_are_refused_with_a_clear_reason(suffix: str, error: type, match: str) -> None:
    """A suffix that would break every prompt is refused when it is set."""
    with pytest.raises(error, match=match):
        validate_suffix(suffix, BASE)


def test_suffix_check_ignores_a_broken_stored_default() -> None:
    """The suffix is judged on its own, not on the user's other settings."""
    assert validate_suffix("--ar 2:1", replace(BASE, user_defaults="--v 99")) == "--ar 2:1"
