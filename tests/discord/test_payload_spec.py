"""What the bot sends in its main flows passes Discord's OpenAPI description (tests/discord_spec.py).

Every simcord test already checks all its requests at teardown (tests/discord/conftest.py); this
file makes sure the check is not vacuous: the main flows' messages, edits, callbacks, modals and
the command registration are among what was checked, and a real payload broken on purpose fails.
"""

from __future__ import annotations

import copy

import pytest

from tests.discord.helpers import is_result
from tests.discord_spec import SpecViolation, assert_valid_request, assert_valid_requests, operation_template


def checked_operations(world) -> dict[tuple[str, str], list]:
    """(method, spec template) → the JSON bodies the bot sent there."""
    found: dict[tuple[str, str], list] = {}
    for entry in world.env.http_requests:
        template = operation_template(entry.method, entry.path)
        if template is not None and entry.json is not None:
            found.setdefault((entry.method, template), []).append(entry.json)
    return found


def components_in(bodies: list) -> list[dict]:
    """Every component (rows, buttons, selects, text inputs) in these bodies, callbacks' data included."""
    found = []

    def walk(items):
        for item in items or []:
            found.append(item)
            walk(item.get("components"))

    for body in bodies:
        walk(body.get("components"))
        walk((body.get("data") or {}).get("components"))
    return found


async def test_grid_single_image_region_and_remix_payloads_pass_the_spec(world):
    """/imagine → grid; U1 → single image (5 editing rows + ❤️/Web row); Vary (Region) picker, its
    select and prompt modal; the remix modal of Custom Zoom; /settings: all checked against the spec."""
    await world.alice.slash(world.channel, "imagine", prompt="a red fox --ar 3:2")
    grid = await world.wait_for(is_result)
    await world.alice.click(grid, label="U1")
    single = await world.wait_for(lambda m: "Image #1" in m.content, after=grid.id)
    shown = await world.alice.click(single, label="Vary (Region)")
    chosen = await world.alice.select(shown.response, ["B2"])
    await world.service.repository.update_user_settings(world.alice.id, remix=True)  # the prompt modal
    modal = await world.alice.click(chosen.response, label="Submit")
    assert modal.modal is not None
    zoom = await world.alice.click(single, label="Custom Zoom")
    assert zoom.modal is not None
    await world.alice.slash(world.channel, "settings")

    assert assert_valid_requests(world.env.http_requests) >= 8
    operations = checked_operations(world)
    posts = operations[("POST", "/channels/{channel_id}/messages")]
    callbacks = operations[("POST", "/interactions/{interaction_id}/{interaction_token}/callback")]
    assert ("PUT", "/applications/{application_id}/commands") in operations
    assert {body["type"] for body in callbacks} >= {4, 9}  # a message (settings/picker) and modals
    kinds = {component["type"] for component in components_in(posts + callbacks)}
    assert kinds >= {1, 2, 3, 4}  # rows, buttons, the cell select, the modals' text inputs
    single_body = next(body for body in posts if "Image #1" in (body.get("content") or ""))
    assert len(single_body["components"]) == 5

    # The check is real: the same single-image message with one broken button fails.
    broken = copy.deepcopy(single_body)
    broken["components"][0]["components"][0]["style"] = 9
    with pytest.raises(SpecViolation, match="style"):
        assert_valid_request("POST", "/channels/1/messages", broken)
    overfull = copy.deepcopy(single_body)
    overfull["components"].append(overfull["components"][0])
    with pytest.raises(SpecViolation, match="max 5 action rows"):
        assert_valid_request("POST", "/channels/1/messages", overfull)


def test_the_whole_command_tree_passes_the_bulk_overwrite_schema(world):
    """Every application command, as discord.py serialises it, passes PUT .../commands (global and guild)."""
    tree = world.env.bot.tree
    commands = [command.to_dict(tree) for command in tree.get_commands()]
    assert {"imagine", "settings", "describe", "shorten"} <= {command["name"] for command in commands}
    assert_valid_request("PUT", "/applications/1/commands", commands)
    assert_valid_request("PUT", "/applications/1/guilds/2/commands", commands)


async def test_a_6000_character_prompt_still_fits_discords_limits(world):
    """The longest prompt /imagine takes: its progress post, grid, single image, Custom Zoom modal and
    /shorten reply stay within Discord's limits (2000-character content, 4000-character text input)."""
    prompt = ("a lighthouse on a cliff at dawn, " * 200)[:5990].strip()
    await world.alice.slash(world.channel, "imagine", prompt=prompt)
    grid = await world.wait_for(is_result)
    await world.alice.click(grid, label="U1")
    single = await world.wait_for(lambda m: "Image #1" in m.content, after=grid.id)
    zoom = await world.alice.click(single, label="Custom Zoom")
    assert zoom.modal is not None
    await world.alice.slash(world.channel, "shorten", prompt=prompt)
    assert assert_valid_requests(world.env.http_requests) >= 5
    posts = checked_operations(world)[("POST", "/channels/{channel_id}/messages")]
    assert all(len(body.get("content") or "") <= 2000 for body in posts)
