"""Per-server limits and the /imagine `--style` autocomplete, without Discord."""

from __future__ import annotations

import pytest

from bot.errors import InvalidParameter, QueueFull
from bot.governance.limits import ChannelNotAllowed, GuildLimits
from bot.governance.models import GuildRules
from bot.prompt import PromptContext, StylePreset, expand_prompt
from bot.prompt.completion import MAX_CHOICE_LENGTH, style_completions

NAMES = ["neon-noir", "noir", "anime"]

COMPLETIONS = [
    (
        "a cat --style ",
        ["a cat --style raw", "a cat --style anime", "a cat --style neon-noir", "a cat --style noir"],
    ),
    ("a cat --style n", ["a cat --style neon-noir", "a cat --style noir", "a cat --style anime"]),
    ("a cat --style NO", ["a cat --style noir", "a cat --style neon-noir"]),  # starts-with first
    ("a cat —style r", ["a cat —style raw", "a cat —style neon-noir", "a cat —style noir"]),  # — is --
    (
        "a cat --style",
        ["a cat --style raw", "a cat --style anime", "a cat --style neon-noir", "a cat --style noir"],
    ),
    ("a cat --style zzz", ["a cat --style zzz"]),  # nothing matches: the text stays
    ("a cat --ar 2:3", ["a cat --ar 2:3"]),
    ("a cat --stylize 100", ["a cat --stylize 100"]),
    ("a cat --style noir --ar 2:3", ["a cat --style noir --ar 2:3"]),  # not at the end
    ("", []),
    ("x" * (MAX_CHOICE_LENGTH + 1), []),  # Discord can't take a longer choice
]


@pytest.mark.parametrize(("typed", "expected"), COMPLETIONS)
def test_style_completions(typed, expected):
    """A trailing `--style <partial>` is completed with the server's styles and raw; else the text."""
    assert style_completions(typed, NAMES) == expected


def test_completions_never_exceed_discords_choice_limits():
    """At most 25 choices, each at most 100 characters, even with many long style names."""
    names = [f"style-{n:02d}-" + "x" * 20 for n in range(40)]
    choices = style_completions("a" * 60 + " --style s", names)
    assert 0 < len(choices) <= 25
    assert all(len(choice) <= MAX_CHOICE_LENGTH for choice in choices)


def requests_for(prompt: str):
    context = PromptContext(presets={"p": StylePreset("p", "{prompt}, x")})
    return expand_prompt(prompt, context)


JOB_LIMITS = [
    (None, "a cat --repeat 40", None),
    (3, "a cat --repeat 3", None),
    (3, "a cat --repeat 4", "`--repeat 4` is over this server's limit: at most 3"),
    (2, "a {red, green, blue} cat", "makes 3 jobs"),
    (1, "a cat", None),
]


@pytest.mark.parametrize(("limit", "prompt", "error"), JOB_LIMITS)
def test_max_repeat(limit, prompt, error):
    """`max_repeat` caps --repeat (named in the error) and the jobs one prompt makes."""
    limits = GuildLimits(max_repeat=limit)
    requests = requests_for(prompt)
    if error is None:
        limits.check_jobs(requests)
        return
    with pytest.raises(InvalidParameter, match=error.replace("(", r"\(")):
        limits.check_jobs(requests)


@pytest.mark.parametrize(("limit", "waiting", "full"), [(None, 500, False), (2, 1, False), (2, 2, True)])
def test_max_jobs_per_user(limit, waiting, full):
    """A member at the server's limit of waiting jobs gets Queue full."""
    limits = GuildLimits(max_jobs_per_user=limit)
    if full:
        with pytest.raises(QueueFull, match=f"limit is {limit}"):
            limits.check_waiting(waiting)
    else:
        limits.check_waiting(waiting)


CHANNELS = [
    ((), (5,), True),
    ((1, 2), (2,), True),
    ((1, 2), (9, 1), True),  # a thread (9) of an allowed channel (1)
    ((1, 2), (9, None), False),
    ((1,), (None,), False),
]


@pytest.mark.parametrize(("allowed", "here", "ok"), CHANNELS)
def test_allowed_channels(allowed, here, ok):
    """/imagine works anywhere until channels are allowed; then only there (and in their threads)."""
    limits = GuildLimits.of(GuildRules(guild_id=1, allowed_channels=list(allowed)))
    if ok:
        limits.check_channel(*here)
        return
    with pytest.raises(ChannelNotAllowed) as raised:
        limits.check_channel(*here)
    assert all(f"<#{channel}>" in raised.value.message for channel in allowed)
