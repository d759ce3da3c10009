"""/settings through simcord: the ephemeral panel, clicks that save and redraw, restarts, and what
the saved settings do to /imagine, V buttons and remix."""

from __future__ import annotations

import dataclasses
from typing import Any

import discord
import pytest

from bot.discord.exts.settings._panel import apply_choice, apply_model
from bot.errors import UserFacingError
from bot.governance.models import PersonalSettings
from tests.discord.helpers import is_result

DEFAULT_GREEN = {"Stylize med", "Strong Variation Mode", "Fast mode"}


def green(message: discord.Message) -> set[str]:
    """Labels of the panel's highlighted (current) choices."""
    return {
        child.label
        for row in message.components
        for child in row.children
        if isinstance(child, discord.Button) and child.style is discord.ButtonStyle.success
    }


def selected_model(message: discord.Message) -> str:
    (select,) = [
        child for row in message.components for child in row.children if isinstance(child, discord.SelectMenu)
    ]
    (chosen,) = [option.value for option in select.options if option.default]
    return chosen


async def open_panel(world: Any, member: Any) -> Any:
    """/settings by `member`: the ephemeral panel (a ResponseMessage)."""
    result = await member.slash(world.channel, "settings")
    assert result.ephemeral
    return result.response


async def test_settings_shows_an_ephemeral_panel_with_the_defaults_highlighted(world):
    """A new user's panel: model select on the default, Stylize med, Strong variations and Fast in green."""
    panel = await open_panel(world, world.alice)
    assert "Adjust your settings here" in panel.content
    assert green(panel.message) == DEFAULT_GREEN
    assert selected_model(panel.message) == "default"
    assert world.messages() == []


CLICKS = [
    # (button, the saved change, the labels in green afterwards)
    ("Stylize high", {"stylize": 250}, {"Stylize high", "Strong Variation Mode", "Fast mode"}),
    ("Stylize low", {"stylize": 50}, {"Stylize low", "Strong Variation Mode", "Fast mode"}),
    ("RAW Mode", {"raw": True}, DEFAULT_GREEN | {"RAW Mode"}),
    ("Remix mode", {"remix": True}, DEFAULT_GREEN | {"Remix mode"}),
    (
        "Subtle Variation Mode",
        {"variation_mode": "subtle"},
        {"Stylize med", "Subtle Variation Mode", "Fast mode"},
    ),
    ("Relax mode", {"speed": "relax"}, {"Stylize med", "Strong Variation Mode", "Relax mode"}),
]


@pytest.mark.parametrize(("label", "change", "highlighted"), CLICKS)
async def test_each_click_saves_and_redraws_the_panel(world, label, change, highlighted):
    """A click saves that one setting for the clicker and the same panel shows it in green."""
    panel = await open_panel(world, world.alice)
    clicked = await world.alice.click(panel, label=label)
    assert clicked.response.id == panel.id
    assert green(clicked.response.message) == highlighted
    saved = await world.service.repository.get_user_settings(world.alice.id)
    assert saved == PersonalSettings(world.alice.id, **change)
    assert await world.service.repository.get_user_settings(world.bob.id) == PersonalSettings(world.bob.id)


async def test_toggles_switch_back_off(world):
    """RAW Mode and Remix mode clicked twice are off again."""
    panel = await open_panel(world, world.alice)
    for label in ("RAW Mode", "Remix mode", "RAW Mode", "Remix mode"):
        await world.alice.click(panel, label=label)
    saved = await world.service.repository.get_user_settings(world.alice.id)
    assert (saved.raw, saved.remix) == (False, False)


async def test_model_select_saves_an_alias_and_back_to_default(world):
    """Choosing a MODEL_ALIASES name saves it and shows `--v 6` as a default; `default` clears it."""
    world.env.bot.config = dataclasses.replace(world.settings, model_aliases={"6": "tiny", "niji6": "tiny"})
    panel = await open_panel(world, world.alice)
    chosen = await world.alice.select(panel, ["6"])
    assert selected_model(chosen.response.message) == "6"
    assert "`--v 6`" in chosen.response.content
    assert (await world.service.repository.get_user_settings(world.alice.id)).model == "6"
    await world.alice.select(panel, ["default"])
    assert (await world.service.repository.get_user_settings(world.alice.id)).model is None


async def test_reset_restores_the_defaults_but_keeps_the_suffix(world):
    """Reset Settings puts every panel choice back; the /prefer suffix is not part of the panel."""
    await world.service.repository.set_user_settings(
        PersonalSettings(
            world.alice.id,
            remix=True,
            variation_mode="subtle",
            stylize=750,
            raw=True,
            speed="relax",
            suffix="--ar 2:1",
        )
    )
    panel = await open_panel(world, world.alice)
    assert "`--ar 2:1`" in panel.content
    reset = await world.alice.click(panel, label="Reset Settings")
    assert green(reset.response.message) == DEFAULT_GREEN
    assert await world.service.repository.get_user_settings(world.alice.id) == PersonalSettings(
        world.alice.id, suffix="--ar 2:1"
    )


async def test_panel_clicks_persist_across_a_restart(world):
    """A panel opened before a restart still works after it, and the choices survive both restarts."""
    panel = await open_panel(world, world.alice)
    await world.alice.click(panel, label="Stylize very high")
    await world.restart()
    clicked = await world.alice.click(panel, label="Relax mode")
    assert green(clicked.response.message) == {"Stylize very high", "Strong Variation Mode", "Relax mode"}
    await world.restart()
    again = await open_panel(world, world.alice)
    assert green(again.message) == {"Stylize very high", "Strong Variation Mode", "Relax mode"}
    saved = await world.service.repository.get_user_settings(world.alice.id)
    assert (saved.stylize, saved.speed) == (750, "relax")


async def test_panel_choices_shape_imagine_and_typed_parameters_win(world):
    """Stylize high and Relax from the panel reach /imagine's job; `--s 20` typed in the prompt wins."""
    panel = await open_panel(world, world.alice)
    await world.alice.click(panel, label="Stylize high")
    await world.alice.click(panel, label="Relax mode")
    await world.alice.slash(world.channel, "imagine", prompt="a calm lake")
    relaxed = await world.wait_for(lambda m: m.content.endswith("(relax)") and bool(m.attachments))
    assert relaxed.content == f"**a calm lake** - <@{world.alice.id}> (relax)"
    job = await world.job_of(relaxed)
    assert (job.speed, job.generation_request.extra["stylize"]) == ("relax", 250)
    await world.alice.slash(world.channel, "imagine", prompt="a calm sea --s 20 --fast")
    fast = await world.wait_for(is_result, after=relaxed.id)
    typed = await world.job_of(fast)
    assert (typed.speed, typed.generation_request.extra["stylize"]) == ("fast", 20)


async def test_variation_mode_speed_and_remix_from_the_panel_drive_the_v_buttons(world):
    """The clicker's panel decides: Subtle makes V subtle, Relax makes it relax, Remix opens the modal first."""
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    grid = await world.wait_for(is_result)
    panel = await open_panel(world, world.bob)
    await world.bob.click(panel, label="Subtle Variation Mode")
    await world.bob.click(panel, label="Relax mode")
    await world.bob.click(grid, label="V1")
    subtle = await world.wait_for(lambda m: m.content.endswith("(relax)"), after=grid.id)
    assert subtle.content == f"**a red fox** - Variations (Subtle) by <@{world.bob.id}> (relax)"
    await world.bob.click(panel, label="Remix mode")
    shown = await world.bob.click(grid, label="V2")
    assert shown.modal is not None
    field = shown.modal["components"][0]["components"][0]
    await world.bob.submit_modal(shown, {field["custom_id"]: "a red fox at night"})
    remixed = await world.wait_for(
        lambda m: m.content.endswith("(relax)") and bool(m.attachments), after=subtle.id
    )
    assert remixed.content == f"**a red fox at night** - Variations (Subtle) by <@{world.bob.id}> (relax)"


STALE_CLICKS = [
    (apply_choice, ("stylize", "extreme")),
    (apply_choice, ("raw", "maybe")),
    (apply_choice, ("speed", "turbo")),
    (apply_choice, ("reset", "some")),
    (apply_model, ("5", {"6": "tiny"})),
]


@pytest.mark.parametrize(("apply", "arguments"), STALE_CLICKS)
def test_stale_or_forged_panel_values_are_refused_politely(apply, arguments):
    """A button or model that no longer exists is a user-facing message, never an exception in a callback."""
    with pytest.raises(UserFacingError, match="again"):
        apply(PersonalSettings(1), *arguments)
