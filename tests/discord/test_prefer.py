"""/prefer through simcord: suffix, options and remix are saved for the user, checked the way
/imagine reads them and against the server's banned words, and shape the user's next /imagine."""

from __future__ import annotations

import pytest

from tests.discord.helpers import is_result


async def test_suffix_and_option_shape_the_next_imagine(world):
    """A saved suffix and a `--wide` option reach alice's job; the typed `--s` beats the suffix's."""
    saved = await world.alice.slash(world.channel, "prefer suffix", text="oil painting --s 400")
    assert saved.ephemeral and saved.response.content == "Custom suffix saved: `oil painting --s 400`"
    option = await world.alice.slash(world.channel, "prefer option set", name="--Wide", value="--ar 2:1")
    assert option.response.content.startswith("Option `--wide` saved (1 of 20)")
    await world.alice.slash(world.channel, "imagine", prompt="a harbour --wide --s 50")
    grid = await world.wait_for(is_result)
    job = await world.job_of(grid)
    request = job.generation_request
    assert request.prompt == "a harbour oil painting"
    assert (request.width / request.height, request.extra["stylize"]) == (2.0, 50)
    assert world.messages() == [grid]


REFUSED_SUFFIXES = [
    # (suffix, error title, words in the message)
    ("--ar 0:0", "Invalid parameter", "--ar"),
    ("--wat 3", "Invalid parameter", "--wat"),
    ("a n.u.d.e statue", "Banned prompt detected", "nude"),
    ("at the giraffe zoo", "Banned prompt detected", "giraffe"),
]


@pytest.mark.parametrize(("suffix", "title", "words"), REFUSED_SUFFIXES)
async def test_bad_or_banned_suffixes_are_refused_and_not_saved(world, suffix, title, words):
    """What /imagine would refuse (bad parameters, the built-in or this server's banned words) is not saved."""
    await world.service.repository.add_banned_word(world.guild.id, "giraffe")
    result = await world.alice.slash(world.channel, "prefer suffix", text=suffix)
    assert result.ephemeral
    (embed,) = result.response.embeds
    assert embed.title == title
    assert words in embed.description
    assert (await world.service.repository.get_user_settings(world.alice.id)).suffix == ""


async def test_an_empty_suffix_clears_it(world):
    """`/prefer suffix` with no text removes the saved suffix."""
    await world.alice.slash(world.channel, "prefer suffix", text="--ar 3:2")
    cleared = await world.alice.slash(world.channel, "prefer suffix")
    assert cleared.response.content == "Your custom suffix is cleared."
    assert (await world.service.repository.get_user_settings(world.alice.id)).suffix == ""


async def test_options_list_change_and_delete(world):
    """Options are listed by name; an empty value deletes one; deleting a missing one says so."""
    for name, value in [("wide", "--ar 21:9"), ("moody", "dark, rainy --s 600"), ("wide", "--ar 16:9")]:
        await world.alice.slash(world.channel, "prefer option set", name=name, value=value)
    listed = await world.alice.slash(world.channel, "prefer option list")
    (embed,) = listed.response.embeds
    assert embed.title == "Your options (2 of 20)"
    assert embed.description == "`--moody` → `dark, rainy --s 600`\n`--wide` → `--ar 16:9`"
    deleted = await world.alice.slash(world.channel, "prefer option set", name="wide")
    assert deleted.response.content == "Option `--wide` deleted."
    assert await world.service.repository.get_user_options(world.alice.id) == {"moody": "dark, rainy --s 600"}
    missing = await world.alice.slash(world.channel, "prefer option set", name="wide")
    assert "no option `--wide`" in missing.response.embeds[0].description
    assert await world.service.repository.get_user_options(world.bob.id) == {}


REFUSED_OPTIONS = [
    ("ar", "--ar 2:1", "Invalid parameter"),
    ("wide", "--ar 9:1", "Invalid parameter"),
    ("spicy", "n u d e", "Banned prompt detected"),
]


@pytest.mark.parametrize(("name", "value", "title"), REFUSED_OPTIONS)
async def test_bad_or_banned_options_are_refused_and_not_saved(world, name, value, title):
    """Built-in names, values /imagine would refuse and banned words are not saved."""
    result = await world.alice.slash(world.channel, "prefer option set", name=name, value=value)
    assert result.ephemeral
    assert result.response.embeds[0].title == title
    assert await world.service.repository.get_user_options(world.alice.id) == {}


async def test_the_twenty_first_option_is_refused(world):
    """At most 20 options; changing one of them still works at the limit."""
    for index in range(20):
        await world.service.repository.set_user_option(world.alice.id, f"opt{index}", "--s 100")
    refused = await world.alice.slash(world.channel, "prefer option set", name="one-more", value="--s 5")
    assert "already have 20 options" in refused.response.embeds[0].description
    changed = await world.alice.slash(world.channel, "prefer option set", name="opt3", value="--s 7")
    assert changed.response.content.startswith("Option `--opt3` saved (20 of 20)")


async def test_option_names_autocomplete_from_the_users_own(world):
    """Typing a name offers the user's own options that start with it."""
    for name in ("wide", "wild", "moody"):
        await world.service.repository.set_user_option(world.alice.id, name, "--s 100")
    choices = await world.alice.autocomplete(world.channel, "prefer option set", "name", "wi")
    assert [choice["value"] for choice in choices] == ["wide", "wild"]


async def test_prefer_remix_toggles(world):
    """`/prefer remix` turns remix on, then off again."""
    first = await world.alice.slash(world.channel, "prefer remix")
    assert first.response.content.startswith("Remix mode turned on")
    assert (await world.service.repository.get_user_settings(world.alice.id)).remix
    second = await world.alice.slash(world.channel, "prefer remix")
    assert second.response.content == "Remix mode turned off."
    assert not (await world.service.repository.get_user_settings(world.alice.id)).remix


async def test_a_suffix_or_option_banned_later_is_refused_at_imagine(world):
    """A suffix or option saved before the server banned a word of it cannot get past /imagine."""
    await world.alice.slash(world.channel, "prefer suffix", text="with a giraffe")
    await world.alice.slash(world.channel, "prefer option set", name="zoo", value="an okapi")
    for word, prompt in [("giraffe", "a cat"), ("okapi", "a dog --zoo")]:
        await world.service.repository.add_banned_word(world.guild.id, word)
        result = await world.alice.slash(world.channel, "imagine", prompt=prompt)
        assert [embed.title for embed in result.response.embeds] == ["Banned prompt detected"]
        assert word in result.response.embeds[0].description
        await world.alice.slash(world.channel, "prefer suffix")
    assert world.messages() == []
