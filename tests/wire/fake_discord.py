"""A small fake of Discord's REST API and gateway on 127.0.0.1, for the wire-level smoke test.

It implements only what the bot touches on the way from login to a delivered grid: login and
application info, command sync, the gateway handshake (HELLO → IDENTIFY → READY, GUILD_CREATE,
heartbeats), interaction callbacks (with `with_response=1` they answer with JSON, as Discord
does), the interaction webhook, and channel messages with multipart uploads. Every request is
recorded (method, path, query, JSON body — for a multipart upload its `payload_json` part — the
files, and the fake's answer); `wait_for` lets a test wait for one, and tests/wire/test_spec.py
checks every body against Discord's OpenAPI description.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

API = "/api/v10"
BOT_ID = 1000
APP_ID = 1000
GUILD_ID = 2000
CHANNEL_ID = 3000
USER_ID = 4000
ALL_PERMISSIONS = str((1 << 50) - 1)


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py parses a body as JSON only for exactly `application/json` (no charset).
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def _member(user: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "user": user,
        "roles": [],
        "joined_at": "2026-01-01T00:00:00+00:00",
        "nick": None,
        "avatar": None,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
        **extra,
    }


def _user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
    }


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    json: Any = None  # the JSON body; for a multipart upload, its `payload_json` part
    files: dict[str, bytes] = field(default_factory=dict)
    response: Any = None  # the JSON the fake answered with (a posted message, say)
    at: float = 0.0  # when it arrived (`time.perf_counter()`, before its body was read)


class FakeDiscord:
    """Start with `await fake.start()`; `api_base` and `gateway_url` are what the bot needs."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.identified = asyncio.Event()
        self._changed = asyncio.Condition()
        self._ids = itertools.count(10_000)
        self._sockets: list[web.WebSocketResponse] = []
        self._sequence = itertools.count(1)
        self.commands: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0
        # Requests matching `hold` are recorded and never answered (a kill lands meanwhile).
        self.hold: Callable[[Recorded], bool] | None = None
        self._originals: dict[str, str] = {}  # `…/messages/@original` path → its message id
        self._closing = asyncio.Event()  # releases held requests, so closing does not wait for them

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        self._closing.set()
        for socket in self._sockets:
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, predicate: Callable[[Recorded], bool], timeout: float) -> Recorded:  # noqa: ASYNC109
        """The first recorded request matching `predicate`, waiting up to `timeout` seconds for it."""

        def found() -> Recorded | None:
            return next((r for r in self.requests if predicate(r)), None)

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None), timeout)
        result = found()
        assert result is not None
        return result

    async def wait_until(self, condition: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109
        """Return once `condition()` holds (checked whenever a request was recorded)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), timeout)

    def snowflake(self) -> str:
        return str(next(self._ids))

    # ---- gateway ------------------------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH event to every connected bot."""
        frame = {"op": 0, "t": event, "s": next(self._sequence), "d": data}
        for socket in list(self._sockets):
            await socket.send_str(json.dumps(frame))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for message in socket:
            if message.type is not WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            if frame["op"] == 1:  # heartbeat
                await socket.send_str(json.dumps({"op": 11}))
            elif frame["op"] == 2:  # identify
                await self._ready(socket)
                self.identified.set()
        self._sockets.remove(socket)
        return socket

    async def _ready(self, socket: web.WebSocketResponse) -> None:
        ready = {
            "v": 10,
            "user": _user(BOT_ID, "FakeBot", bot=True),
            "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
            "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url,
            "shard": [0, 1],
            "application": {"id": str(APP_ID), "flags": 0},
        }
        await socket.send_str(json.dumps({"op": 0, "t": "READY", "s": next(self._sequence), "d": ready}))
        guild = {
            "id": str(GUILD_ID),
            "name": "Fake guild",
            "icon": None,
            "owner_id": str(USER_ID),
            "unavailable": False,
            "member_count": 2,
            "premium_tier": 0,
            "roles": [
                {
                    "id": str(GUILD_ID),
                    "name": "@everyone",
                    "permissions": ALL_PERMISSIONS,
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                }
            ],
            "channels": [
                {"id": str(CHANNEL_ID), "type": 0, "name": "art", "position": 0, "permission_overwrites": []}
            ],
            "members": [_member(_user(BOT_ID, "FakeBot", bot=True))],
            "emojis": [],
            "stickers": [],
            "features": [],
            "threads": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "voice_states": [],
            "presences": [],
        }
        await socket.send_str(
            json.dumps({"op": 0, "t": "GUILD_CREATE", "s": next(self._sequence), "d": guild})
        )

    def slash_command(self, name: str, *, user_id: int = USER_ID, **options: str) -> dict[str, Any]:
        """An INTERACTION_CREATE payload: member `user_id` (alice by default) runs `/name` in the channel."""
        command = next(c for c in self.commands if c["name"] == name)
        user = _user(USER_ID, "alice") if user_id == USER_ID else _user(user_id, f"member{user_id}")
        return {
            "id": self.snowflake(),
            "application_id": str(APP_ID),
            "type": 2,
            "token": f"token-{self.snowflake()}",
            "version": 1,
            "data": {
                "id": command["id"],
                "name": name,
                "type": 1,
                "options": [{"name": key, "type": 3, "value": value} for key, value in options.items()],
            },
            "guild_id": str(GUILD_ID),
            "channel_id": str(CHANNEL_ID),
            "channel": {"id": str(CHANNEL_ID), "type": 0, "name": "art", "guild_id": str(GUILD_ID)},
            "member": _member(user, permissions=ALL_PERMISSIONS),
            "app_permissions": ALL_PERMISSIONS,
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }

    def button_click(
        self, message: dict[str, Any], custom_id: str, *, user_id: int = USER_ID
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload: member `user_id` clicks the button `custom_id` on `message`."""
        command = self.slash_command(self.commands[0]["name"], user_id=user_id)
        return {
            **command,
            "type": 3,
            "data": {"custom_id": custom_id, "component_type": 2},
            "message": message,
        }

    # ---- REST ---------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        arrived = time.perf_counter()
        path = "/" + request.match_info["tail"]
        recorded = Recorded(request.method, path, dict(request.query), at=arrived)
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()  # type: ignore[union-attr]
                if part.name == "payload_json":  # type: ignore[union-attr]
                    recorded.json = json.loads(data)
                else:
                    recorded.files[part.filename or part.name or ""] = bytes(data)  # type: ignore[union-attr]
        elif request.can_read_body:
            recorded.json = await request.json()
        if self.hold is not None and self.hold(recorded):
            async with self._changed:
                self.requests.append(recorded)
                self._changed.notify_all()
            await self._closing.wait()
            return web.Response(status=503)
        response = self._answer(recorded)
        if isinstance(response, web.Response) and response.content_type == "application/json":
            recorded.response = json.loads(response.body)  # type: ignore[arg-type]
        async with self._changed:
            self.requests.append(recorded)
            self._changed.notify_all()
        return response

    def _answer(self, recorded: Recorded) -> web.StreamResponse:
        method, path = recorded.method, recorded.path
        parts = path.strip("/").split("/")
        if (method, path) == ("GET", "/users/@me"):
            return _json(_user(BOT_ID, "FakeBot", bot=True))
        if (method, path) == ("GET", "/oauth2/applications/@me"):
            return _json(self._application())
        if method == "PUT" and parts[0] == "applications" and parts[-1] == "commands":
            self.commands = [
                {**command, "id": self.snowflake(), "application_id": str(APP_ID), "version": "1"}
                for command in recorded.json
            ]
            return _json(self.commands)
        if method == "POST" and parts[0] == "interactions":
            return self._callback(recorded, interaction_id=parts[1])
        if method == "POST" and parts[0] in ("channels", "webhooks"):
            return _json(self._message(recorded))
        if method == "PATCH" and "messages" in parts:
            # `@original` (an interaction's reply) answers with that message's own id, as Discord does.
            message_id = (
                parts[-1] if parts[-1].isdigit() else self._originals.setdefault(path, self.snowflake())
            )
            return _json(self._message(recorded, message_id=message_id))
        if method == "DELETE":
            return web.Response(status=204)
        return _json({"message": f"the fake has no {method} {path}", "code": 0}, status=404)

    def _application(self) -> dict[str, Any]:
        return {
            "id": str(APP_ID),
            "name": "FakeBot",
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": _user(USER_ID, "alice"),
            "verify_key": "0" * 64,
            "flags": 0,
            "team": None,
            "summary": "",
        }

    def _callback(self, recorded: Recorded, *, interaction_id: str) -> web.StreamResponse:
        if recorded.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        body = recorded.json or {}
        flags = (body.get("data") or {}).get("flags", 0)
        message = self._message(Recorded("POST", "", {}, body.get("data") or {}))
        return _json(
            {
                "interaction": {
                    "id": interaction_id,
                    "type": 2,
                    "response_message_id": message["id"],
                    "response_message_loading": body.get("type") == 5,
                    "response_message_ephemeral": bool(flags & 64),
                },
                "resource": {"type": body.get("type", 4), "message": message},
            }
        )

    def _message(self, recorded: Recorded, message_id: str | None = None) -> dict[str, Any]:
        body = recorded.json or {}
        attachments = [
            {
                "id": self.snowflake(),
                "filename": name,
                "size": len(data),
                "url": f"http://127.0.0.1:{self.port}/attachments/{name}",
                "proxy_url": f"http://127.0.0.1:{self.port}/attachments/{name}",
            }
            for name, data in recorded.files.items()
        ]
        return {
            "id": message_id or self.snowflake(),
            "channel_id": str(CHANNEL_ID),
            "guild_id": str(GUILD_ID),
            "author": _user(BOT_ID, "FakeBot", bot=True),
            "content": body.get("content") or "",
            "timestamp": "2026-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": attachments,
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": body.get("flags") or 0,
        }
