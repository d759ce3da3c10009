"""The OpenAPI payload check itself: it accepts what Discord accepts and fails on what it rejects."""

from __future__ import annotations

import copy

import pytest

from tests.discord_spec import (
    SpecViolation,
    assert_valid_request,
    assert_valid_requests,
    operation_template,
    request_violations,
)

GRID = {
    "content": "**a lighthouse** - <@4000> (fast)",
    "components": [
        {
            "type": 1,
            "components": [
                {"type": 2, "style": 2, "label": f"U{n}", "custom_id": f"mj:upscale:1:{n}"}
                for n in range(1, 5)
            ]
            + [{"type": 2, "style": 2, "emoji": {"name": "🔄"}, "custom_id": "mj:reroll:1:0"}],
        }
    ],
    "attachments": [{"id": 0, "filename": "grid.png"}],
}


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("POST", "/channels/3/messages", "/channels/{channel_id}/messages"),
        ("PATCH", "/channels/3/messages/9", "/channels/{channel_id}/messages/{message_id}"),
        (
            "POST",
            "/interactions/1/tok/callback",
            "/interactions/{interaction_id}/{interaction_token}/callback",
        ),
        (
            "PATCH",
            "/webhooks/1/tok/messages/@original",
            "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
        ),
        (
            "PATCH",
            "/webhooks/1/tok/messages/9",
            "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
        ),
        ("POST", "/webhooks/1/tok", "/webhooks/{webhook_id}/{webhook_token}"),
        ("PUT", "/applications/1/commands", "/applications/{application_id}/commands"),
        (
            "PUT",
            "/applications/1/guilds/2/commands",
            "/applications/{application_id}/guilds/{guild_id}/commands",
        ),
        ("POST", "/channels/{channel_id}/messages", "/channels/{channel_id}/messages"),
    ],
)
def test_paths_find_their_operation(method, path, template):
    assert operation_template(method, path) == template


def test_a_path_without_a_json_body_is_an_error_not_a_pass():
    with pytest.raises(LookupError):
        request_violations("GET", "/channels/3/messages", {})


def test_a_valid_grid_message_passes():
    assert_valid_request("POST", "/channels/3/messages", GRID)


def mutated(change):
    body = copy.deepcopy(GRID)
    change(body)
    return body


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda b: b["components"][0]["components"][0].update(style=9), "style"),
        (lambda b: b["components"][0]["components"][0].pop("style"), "'style' is a required property"),
        (lambda b: b["components"][0].update(components=[]), "should be non-empty"),
        (lambda b: b.update(content=5), "is not of type"),
        (
            lambda b: b["components"][0]["components"].append({"type": 2, "style": 1, "custom_id": "x"}),
            "6 buttons",
        ),
        (lambda b: b.update(content="x" * 2001), r"content is 2001 characters \(max 2000\)"),
        (lambda b: b["components"][0]["components"][0].update(custom_id="x" * 101), "max 100"),
        (lambda b: b["components"][0]["components"][0].update(label="x" * 81), "80"),
        (lambda b: b.update(components=b["components"] * 6), "6 top-level components"),
    ],
    ids=[
        "style",
        "no style",
        "empty row",
        "content type",
        "6 buttons",
        "content 2001",
        "custom_id",
        "label",
        "6 rows",
    ],
)
def test_a_mutated_payload_fails(change, says):
    with pytest.raises(SpecViolation, match=says):
        assert_valid_request("POST", "/channels/3/messages", mutated(change))


def test_modal_limits():
    modal = {
        "type": 9,
        "data": {
            "custom_id": "mj:remix:1",
            "title": "Remix Prompt",
            "components": [
                {
                    "type": 1,
                    "components": [{"type": 4, "custom_id": "prompt", "style": 2, "label": "New prompt"}],
                }
            ],
        },
    }
    assert_valid_request("POST", "/interactions/1/tok/callback", modal)
    modal["data"]["title"] = "t" * 46
    with pytest.raises(SpecViolation, match="modal title is 46 characters"):
        assert_valid_request("POST", "/interactions/1/tok/callback", modal)


def test_select_options_are_limited_to_25():
    select = {
        "type": 3,
        "custom_id": "cells",
        "options": [{"label": str(n), "value": str(n)} for n in range(26)],
    }
    with pytest.raises(SpecViolation, match=r"26 options|too long"):
        assert_valid_request(
            "POST", "/channels/3/messages", {"components": [{"type": 1, "components": [select]}]}
        )


def test_commands_bulk_overwrite_schema():
    commands = [{"name": "imagine", "description": "Create images", "type": 1, "options": []}]
    assert_valid_request("PUT", "/applications/1/commands", commands)
    commands[0]["name"] = "Imagine Things"
    with pytest.raises(SpecViolation, match="name"):
        assert_valid_request("PUT", "/applications/1/commands", commands)


def test_command_options_follow_the_documented_rules():
    option = {"type": 3, "name": "prompt", "description": "The prompt", "required": True}
    command = {
        "name": "imagine",
        "description": "Create images",
        "options": [{**option, "required": False}, option],
    }
    with pytest.raises(SpecViolation, match="required option 'prompt' after an optional one"):
        assert_valid_request("PUT", "/applications/1/guilds/2/commands", [command])
    command["options"] = [{**option, "description": ""}]
    with pytest.raises(SpecViolation, match="description is 0 characters"):
        assert_valid_request("PUT", "/applications/1/guilds/2/commands", [command])


def test_recorded_requests_are_all_checked_and_a_body_on_an_unknown_route_fails():
    class Sent:
        def __init__(self, method, path, json):
            self.method, self.path, self.json = method, path, json

    sent = [Sent("GET", "/users/@me", None), Sent("POST", "/channels/3/messages", GRID)]
    assert assert_valid_requests(sent) == 1
    with pytest.raises(SpecViolation, match="no operation that takes this JSON body"):
        assert_valid_requests([*sent, Sent("POST", "/channels/3/messagez", GRID)])
    with pytest.raises(SpecViolation, match="style"):
        assert_valid_requests(
            [
                *sent,
                Sent(
                    "POST",
                    "/channels/3/messages",
                    mutated(lambda b: b["components"][0]["components"][0].pop("style")),
                ),
            ]
        )
