"""The governance services both fronts call: a member's settings (remix, suffix, options,
stealth), a server's rules (limits, banned words) and styles — checked once, for every front."""

from __future__ import annotations

import pytest

from bot.errors import InvalidParameter, UserFacingError
from bot.governance.presets import presets_to_json
from bot.jobs.service import JobService
from bot.prompt import StylePreset
from bot.services import Services

ALICE, GUILD = 1, 10


@pytest.fixture
def fronts(service: JobService) -> Services:
    return Services.of(service, service.settings)


async def test_remix_and_stealth_are_one_switch_for_every_front(fronts: Services) -> None:
    """Remix toggles and can be set; stealth on/off is read back the same way."""
    members = fronts.members
    assert await members.remix(ALICE) is False
    assert await members.set_remix(ALICE) is True
    assert await members.set_remix(ALICE, False) is False
    assert await members.stealth(ALICE) is False
    await members.set_stealth(ALICE, True)
    assert await members.stealth(ALICE) is True


async def test_suffix_and_options_are_validated_and_banned_words_refused(fronts: Services) -> None:
    """A suffix is stored cleaned; an option counts, deletes, refuses an unknown delete and a banned word."""
    members = fronts.members
    assert await members.set_suffix(ALICE, "--ar 3:2", GUILD) == "--ar 3:2"
    assert (await members.of(ALICE)).suffix == "--ar 3:2"
    changed = await members.set_option(ALICE, "wide", "--ar 21:9", GUILD)
    assert (changed.name, changed.text, changed.count) == ("wide", "--ar 21:9", 1)
    assert await members.options(ALICE) == {"wide": "--ar 21:9"}
    deleted = await members.set_option(ALICE, "wide", "", GUILD)
    assert (deleted.text, deleted.count) == (None, 0)
    with pytest.raises(UserFacingError, match="no option"):
        await members.set_option(ALICE, "wide", None, GUILD)
    await fronts.rules.ban_word(GUILD, "okapi", ALICE)
    with pytest.raises(UserFacingError):
        await members.set_option(ALICE, "zoo", "an okapi", GUILD)


async def test_limits_change_and_channels_are_checked(fronts: Services) -> None:
    """set_limits saves what is given; disallowing a channel that is not allowed is refused."""
    rules = fronts.rules
    limits = await rules.set_limits(GUILD, max_jobs_per_user=3, allow_channel=77)
    assert (await rules.rules(GUILD)).max_jobs_per_user == 3
    assert limits == await rules.limits(GUILD)
    assert (await rules.rules(GUILD)).allowed_channels == [77]
    with pytest.raises(InvalidParameter, match="not an allowed channel"):
        await rules.set_limits(GUILD, disallow_channel=78)
    await rules.set_limits(GUILD, max_jobs_per_user=0, all_channels=True)
    assert (await rules.rules(GUILD)).max_jobs_per_user is None
    assert (await rules.rules(GUILD)).allowed_channels == []


async def test_banned_words_add_lift_and_restore(fronts: Services) -> None:
    """A server's own word comes and goes; a built-in word is lifted here and banned again."""
    rules = fronts.rules
    assert await rules.ban_word(GUILD, "Okapi", ALICE) == ("okapi", True)
    assert await rules.ban_word(GUILD, "okapi", ALICE) == ("okapi", False)
    assert "okapi" in (await rules.banned_words(GUILD)).added
    assert await rules.allow_word(GUILD, "okapi", ALICE) == ("okapi", False)
    built_in = sorted(rules.built_in_words())[0]
    assert await rules.allow_word(GUILD, built_in, ALICE) == (built_in, True)
    assert built_in in (await rules.banned_words(GUILD)).lifted
    assert await rules.ban_word(GUILD, built_in, ALICE) == (built_in, True)
    assert built_in not in (await rules.banned_words(GUILD)).lifted
    with pytest.raises(InvalidParameter, match="not on this server's banned list"):
        await rules.allow_word(GUILD, "zebra", ALICE)


async def test_style_presets_add_default_remove_and_import(fronts: Services) -> None:
    """add refuses a taken name; removing the default unsets it; an import is all or nothing."""
    styles = fronts.styles
    preset = await styles.add(GUILD, StylePreset("noir", "{prompt}, film noir"), ALICE)
    with pytest.raises(InvalidParameter, match="already exists"):
        await styles.add(GUILD, StylePreset("noir", "{prompt}"), ALICE)
    assert (await styles.set_default(GUILD, "NOIR")) == preset
    assert await styles.default_name(GUILD) == "noir"
    assert await styles.remove(GUILD, "noir") == (preset, True)
    assert await styles.default_name(GUILD) is None
    await fronts.rules.ban_word(GUILD, "okapi", ALICE)
    export = presets_to_json(
        [StylePreset("ink", "{prompt}, ink"), StylePreset("zoo", "{prompt}, okapi")]
    ).encode()
    with pytest.raises(UserFacingError, match="Nothing was imported"):
        await styles.import_json(GUILD, export, ALICE)
    assert await styles.all(GUILD) == []
    started = await styles.add_starters(GUILD, ALICE)
    assert started.added and not started.kept
    assert len(await styles.all(GUILD)) == len(started.added)
