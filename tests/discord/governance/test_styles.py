"""/style and /styles through simcord: who may change presets, what /imagine makes of them."""

from __future__ import annotations

import json

import pytest
from simcord import SetupError

from bot.discord.permissions import NEEDS_MANAGE_SERVER
from bot.governance.presets import STARTER_PRESETS, presets_to_json
from bot.jobs.files import read_png_parameters
from bot.prompt import StylePreset
from tests.discord.governance.conftest import admin_of, command_id, error_title
from tests.discord.helpers import image_of, is_result

NEON = {
    "name": "neon",
    "template": "{prompt}, neon-noir, cinematic lighting",
    "negative": "daylight",
    "params": "--ar 3:2 --s 400",
}


async def add_neon(world, admin, **changes):
    result = await admin.slash(world.channel, "style add", **{**NEON, **changes})
    assert result.ephemeral
    return result


async def imagine_job(world, member, prompt, channel=None):
    """Run /imagine and return the stored job once its grid is posted."""
    await member.slash(channel or world.channel, "imagine", prompt=prompt)
    grid = await world.wait_for(lambda m: is_result(m) and prompt.split(" --")[0] in m.content)
    return await world.job_of(grid), grid


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("style add", NEON),
        ("style remove", {"name": "neon"}),
        ("style default", {"name": "neon"}),
        ("style starter", {}),
    ],
)
async def test_members_without_manage_server_cannot_change_styles(world, admin, command, options):
    """Discord hides /style from plain members; if an admin lets one run it anyway, the bot still refuses."""
    await add_neon(world, admin, name="existing")
    with pytest.raises(SetupError, match="default-member-permissions"):
        await world.bob.slash(world.channel, command, **options)
    # Server Settings → Integrations: allow bob to use /style. The command now reaches the bot.
    world.guild.set_command_permissions(command_id(world, "style"), {world.bob: True})
    result = await world.bob.slash(world.channel, command, **options)
    assert result.ephemeral
    assert error_title(result) == "Missing permission"
    assert result.response.embeds[0].description == NEEDS_MANAGE_SERVER
    presets = await world.service.repository.get_guild_presets(world.guild.id)
    assert [p.name for p in presets] == ["existing"]
    assert (await world.service.repository.get_guild_rules(world.guild.id)).default_style is None


async def test_everyone_can_list_show_and_export(world, admin):
    """/styles list, show and export answer any member, only to them."""
    await add_neon(world, admin)
    listed = await world.bob.slash(world.channel, "styles list")
    assert listed.ephemeral
    assert "**neon**" in listed.response.embeds[0].description
    shown = await world.bob.slash(world.channel, "styles show", name="neon")
    fields = {field.name: field.value for field in shown.response.embeds[0].fields}
    assert fields["Template"] == NEON["template"]
    assert fields["Parameters"] == "`--ar 3:2 --s 400`"
    exported = await world.bob.slash(world.channel, "styles export")
    (attachment,) = exported.response.attachments
    document = json.loads(world.env.backend.cdn.get(attachment.url))
    assert document["presets"] == [NEON]


async def test_style_neon_expands_the_prompt_in_the_job_and_the_png(world, admin):
    """`--style neon`: the template wraps the prompt, its negative is used, and the PNG says so."""
    await add_neon(world, admin)
    job, grid = await imagine_job(world, world.alice, "a rainy street --style neon")
    request = job.generation_request
    assert request.prompt == "a rainy street, neon-noir, cinematic lighting"
    assert request.negative_prompt == "daylight"
    assert job.prompt == "a rainy street --style neon"  # the message shows what was typed
    (first, *_rest) = await world.service.repository.get_images(job.id)
    parameters = read_png_parameters(first.path)
    assert parameters.startswith("a rainy street, neon-noir, cinematic lighting\nNegative prompt: daylight")
    assert image_of(world, grid).width > image_of(world, grid).height  # the preset's --ar 3:2


@pytest.mark.parametrize(
    ("prompt", "ratio"),
    [("a tower --style neon", 3 / 2), ("a tower --style neon --ar 1:2", 1 / 2)],
)
async def test_the_members_aspect_ratio_beats_the_presets(world, admin, prompt, ratio):
    """The preset's --ar 3:2 applies unless the prompt gives its own --ar."""
    await add_neon(world, admin)
    job, _ = await imagine_job(world, world.alice, prompt)
    request = job.generation_request
    assert request.width / request.height == pytest.approx(ratio, rel=0.15)


@pytest.mark.parametrize(
    ("prompt", "styled"),
    [("a harbour", True), ("a harbour --style raw", False)],
)
async def test_the_server_default_style_applies_without_style(world, admin, prompt, styled):
    """After /style default neon, a plain prompt gets the template; --style raw does not."""
    await add_neon(world, admin)
    result = await admin.slash(world.channel, "style default", name="neon")
    assert "default style" in result.response.content
    job, _ = await imagine_job(world, world.alice, prompt)
    assert job.generation_request.prompt.endswith("neon-noir, cinematic lighting") is styled


async def test_presets_of_one_server_are_invisible_in_another(world, admin, other):
    """A style added here is not listed, offered or usable in another server."""
    await add_neon(world, admin)
    listed = await other.alice.slash(other.channel, "styles list")
    assert "no styles" in listed.response.content
    offered = await other.alice.autocomplete(other.channel, "imagine", "prompt", "a cat --style ne")
    assert [choice["value"] for choice in offered] == ["a cat --style ne"]  # no style to offer
    refused = await other.alice.slash(other.channel, "imagine", prompt="a cat --style neon")
    assert error_title(refused) == "Invalid parameter"
    assert sum((await world.service.repository.count_jobs()).values()) == 0
    assert await world.service.repository.get_guild_presets(other.guild.id) == []


async def test_imagine_autocompletes_the_servers_styles(world, admin):
    """Typing `--style ne` offers the whole prompt with each matching style; other text is echoed."""
    await add_neon(world, admin)
    await add_neon(world, admin, name="noir")
    offered = await world.alice.autocomplete(world.channel, "imagine", "prompt", "a cat --style n")
    assert [choice["value"] for choice in offered] == ["a cat --style neon", "a cat --style noir"]
    plain = await world.alice.autocomplete(world.channel, "imagine", "prompt", "a cat --ar 2:3")
    assert [choice["value"] for choice in plain] == ["a cat --ar 2:3"]
    defaults = await admin.autocomplete(world.channel, "style default", "name", "")
    assert [choice["value"] for choice in defaults] == ["none", "neon", "noir"]


BAD_STYLES = [
    ({"params": "--ar 0:0"}, "Invalid parameter"),
    ({"template": "{prompt}, {colour}"}, "Invalid prompt"),
    ({"name": "raw"}, "Invalid parameter"),
    ({"template": "{prompt}, nude figure"}, "Banned prompt detected"),
    ({"negative": "n.s.f.w"}, "Banned prompt detected"),
]


@pytest.mark.parametrize(("changes", "title"), BAD_STYLES)
async def test_bad_presets_are_refused_and_not_stored(world, admin, changes, title):
    """Broken parameters or templates, reserved names and banned words never become a style."""
    result = await add_neon(world, admin, **changes)
    assert error_title(result) == title
    assert await world.service.repository.get_guild_presets(world.guild.id) == []


async def test_edit_changes_only_what_is_given_and_none_clears(world, admin):
    """/style edit keeps the template when only params change; `none` clears the negative."""
    await add_neon(world, admin)
    await admin.slash(world.channel, "style edit", name="neon", params="--ar 16:9", negative="none")
    (preset,) = await world.service.repository.get_guild_presets(world.guild.id)
    assert preset == StylePreset("neon", NEON["template"], "", "--ar 16:9")


async def test_removing_the_default_style_clears_the_default(world, admin):
    """/style remove of the default style leaves the server without a default."""
    await add_neon(world, admin)
    await admin.slash(world.channel, "style default", name="neon")
    result = await admin.slash(world.channel, "style remove", name="neon")
    assert "removed" in result.response.content
    assert await world.service.repository.get_guild_presets(world.guild.id) == []
    assert (await world.service.repository.get_guild_rules(world.guild.id)).default_style is None


async def test_starter_adds_the_starter_set_and_keeps_own_styles(world, admin):
    """/style starter adds every starter style, but a style of the same name the server made stays."""
    await add_neon(world, admin, name="photo")
    result = await admin.slash(world.channel, "style starter")
    assert "Kept" in result.response.content
    presets = {p.name: p for p in await world.service.repository.get_guild_presets(world.guild.id)}
    assert set(presets) == {preset.name for preset in STARTER_PRESETS}
    assert presets["photo"].template == NEON["template"]


async def test_import_is_all_or_nothing(world, admin):
    """A file with one bad preset imports nothing; a good file adds and replaces styles."""
    await add_neon(world, admin)
    good = StylePreset("neon", "{prompt}, pink neon", "", "--ar 2:1")
    bad = StylePreset("broken", "{prompt}", "", "--chaos 500")
    file = ("styles.json", presets_to_json([good, bad]).encode())
    refused = await admin.slash(world.channel, "style import", file=file)
    assert error_title(refused) == "Invalid parameter"
    assert [p.template for p in await world.service.repository.get_guild_presets(world.guild.id)] == [
        NEON["template"]
    ]
    extra = StylePreset("sketch", "pencil sketch of {prompt}")
    file = ("styles.json", presets_to_json([good, extra]).encode())
    result = await admin.slash(world.channel, "style import", file=file)
    assert "Imported 2 styles" in result.response.content
    presets = {p.name: p.template for p in await world.service.repository.get_guild_presets(world.guild.id)}
    assert presets == {"neon": "{prompt}, pink neon", "sketch": "pencil sketch of {prompt}"}


async def test_an_export_imports_into_another_server(world, admin, other):
    """/styles export from one server, /style import in another: the same styles there."""
    await add_neon(world, admin)
    exported = await world.alice.slash(world.channel, "styles export")
    data = world.env.backend.cdn.get(exported.response.attachments[0].url)
    other_admin = other.guild.add_member(admin.user)
    other.guild.set_command_permissions(command_id(world, "style"), {other_admin: True})
    # carol has no role there: the override lets the command reach the bot, which refuses.
    refused = await other_admin.slash(other.channel, "style import", file=("s.json", data))
    assert error_title(refused) == "Missing permission"
    owner = admin_of(world, other.guild, "dave")
    await owner.slash(other.channel, "style import", file=("s.json", data))
    (preset,) = await world.service.repository.get_guild_presets(other.guild.id)
    assert (preset.name, preset.template) == ("neon", NEON["template"])
