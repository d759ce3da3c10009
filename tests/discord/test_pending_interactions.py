"""A job-making interaction acknowledged just before the bot stops is not lost: after the restart
its job exists exactly once and the member is told what happened ("thinking…" edited, or a
follow-up after a button)."""

from __future__ import annotations

import asyncio
import io
import time

import pytest
from PIL import Image

from bot.discord.pending import RESUMED_TEXT
from bot.discord.reconcile import request_nonce
from bot.jobs.models import PendingInteraction
from tests.discord.helpers import GRID_LABELS, button_labels, is_result


def _png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 48), colour).save(buffer, format="PNG")
    return buffer.getvalue()


RED = ("red.png", _png((220, 20, 20)))
BLUE = ("blue.png", _png((20, 20, 220)))


async def _job_count(world) -> int:
    rows = await world.service.repository._fetchall("SELECT COUNT(*) FROM jobs")
    return rows[0][0]


async def _all_answered(world) -> None:
    """Wait until the restarted bot has dealt with every recorded interaction."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while await world.service.repository.pending_interactions():
        assert loop.time() < deadline, "the recorded interactions were never dealt with"
        await asyncio.sleep(0.05)


def _original(world, token: str):
    """Simcord's record of the interaction (its `loading` is Discord's "thinking…")."""
    return world.env.backend.interaction_by_token(token)


async def _stopped_at(world, method: str) -> None:
    """Stop /imagine inside `admission.<method>` as a kill would: nothing after it runs."""

    async def killed(*args, **kwargs):
        raise asyncio.CancelledError  # the handler ends here; no `finally` of ours answers

    setattr(world.env.bot.admission, method, killed)


async def test_a_stop_between_the_defer_and_the_submit_loses_nothing(world):
    """Deferred, recorded, then stopped before the job was stored: the restart submits it once
    and the "thinking…" reply says it is queued."""
    await _stopped_at(world, "submit")
    await world.alice.slash(world.channel, "imagine", prompt="a lighthouse")
    (pending,) = await world.service.repository.pending_interactions()
    assert pending.prompt == "a lighthouse" and pending.user_id == world.alice.id
    assert _original(world, pending.token).loading
    assert await _job_count(world) == 0
    await world.restart()
    result = await world.wait_for(is_result)
    assert result.content.startswith("**a lighthouse**")
    record = _original(world, pending.token)
    await world.wait_until(lambda: not record.loading)
    message = world.env.backend.get_message(record.channel_id, record.message_id)
    assert message.content == RESUMED_TEXT
    assert await _job_count(world) == 1
    assert await world.service.repository.pending_interactions() == []


async def test_a_stop_after_the_submit_does_not_queue_the_job_twice(world):
    """The job was stored (and its progress message posted) but the record not yet forgotten:
    after the restart the same job id is found and nothing is submitted again."""
    repository = world.service.repository
    forget = repository.forget_interaction

    async def killed(interaction_id):
        raise asyncio.CancelledError

    repository.forget_interaction = killed
    await world.alice.slash(world.channel, "imagine", prompt="a lighthouse")
    await world.wait_for(is_result)
    assert len(await repository.pending_interactions()) == 1
    repository.forget_interaction = forget
    await world.restart()
    await _all_answered(world)
    await asyncio.sleep(0.5)
    assert await _job_count(world) == 1
    assert len([message for message in world.messages() if is_result(message)]) == 1


async def test_an_interaction_older_than_15_minutes_is_dropped(world):
    """Discord no longer accepts its token: the record is dropped, nothing is submitted."""
    await world.service.repository.record_interaction(
        PendingInteraction(
            id=12345,
            token="expired",
            application_id=world.env.bot.application_id or 1,
            user_id=world.alice.id,
            guild_id=world.guild.id,
            channel_id=world.channel.id,
            parent_channel_id=None,
            command="imagine",
            prompt="a lighthouse",
            upload_limit=None,
            received_at=time.time() - 16 * 60,
        )
    )
    await world.restart()
    await _all_answered(world)
    assert await _job_count(world) == 0
    assert world.messages() == []


async def test_requests_taken_while_the_model_loads_are_left_to_their_own_handlers(world):
    """The bot is up before the model has loaded (bot/discord/bot.py), so once the service
    starts, the records of this process' own requests (still being answered by their handlers)
    are not finished a second time: only those from before the start are."""
    from bot.discord.pending import resume_interactions

    started = time.time()

    def record(interaction_id: int, received_at: float) -> PendingInteraction:
        return PendingInteraction(
            id=interaction_id,
            token=f"token-{interaction_id}",
            application_id=world.env.bot.application_id or 1,
            user_id=world.alice.id,
            guild_id=world.guild.id,
            channel_id=world.channel.id,
            parent_channel_id=None,
            command="imagine",
            prompt=f"a lighthouse {interaction_id}",
            upload_limit=None,
            received_at=received_at,
        )

    await world.service.repository.record_interaction(record(777, started + 1))
    assert await resume_interactions(world.env.bot, recorded_before=started) == 0
    assert [p.id for p in await world.service.repository.pending_interactions()] == [777]
    assert await _job_count(world) == 0


async def test_a_prompt_sent_while_the_model_loads_says_so_then_runs(world):
    """/imagine while the model still loads: the "thinking…" reply reads "Waiting for the model to
    load…" until the load ends; then the grid comes and the reply goes, as for any /imagine."""
    from bot.jobs.loading import LOADING_TEXT

    release = asyncio.Event()
    load = asyncio.create_task(world.service.loading.run(release.wait))
    command = asyncio.create_task(world.alice.slash(world.channel, "imagine", prompt="a red fox"))
    shown: list[str] = []

    async def waiting_text() -> bool:
        pending = await world.service.repository.pending_interactions()
        if not pending:
            return False
        record = _original(world, pending[0].token)
        if record is None or record.loading or record.message_id is None:
            return False
        shown.append(world.env.backend.get_message(record.channel_id, record.message_id).content)
        return True

    for _ in range(600):
        if await waiting_text():
            break
        await asyncio.sleep(0.05)
    assert shown == [LOADING_TEXT]
    assert not command.done()
    release.set()
    await load
    result = await asyncio.wait_for(command, 60)
    assert result.response is None  # the waiting reply is gone once the job is queued
    await world.wait_for(is_result)
    from tests.discord.test_payload_spec import checked_operations
    from tests.discord_spec import assert_valid_request

    template = "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
    edits = checked_operations(world)[("PATCH", template)]
    assert [body.get("content") for body in edits] == [LOADING_TEXT]
    for body in edits:  # as Discord's OpenAPI description has that edit
        assert_valid_request(
            "PATCH", template.replace("{webhook_id}", "1").replace("{webhook_token}", "t"), body
        )


# ---- every job-making interaction, not only /imagine ------------------------------------------


def _answer_of(world, pending) -> str:
    """What the member was told after the restart: the edited "thinking…" reply, or (after a
    button or form) the ephemeral follow-up."""
    record = _original(world, pending.token)
    if pending.arguments["answer"] == "followup":
        (message_id,) = record.followup_ids
        return world.env.backend.get_message(record.channel_id, message_id).content
    assert not record.loading
    return world.env.backend.get_message(record.channel_id, record.message_id).content


async def _jobs_of_kind(world, kind: str) -> int:
    rows = await world.service.repository._fetchall("SELECT COUNT(*) FROM jobs WHERE kind = ?", (kind,))
    return rows[0][0]


async def _grid(world):
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    return await world.wait_for(is_result)


async def test_a_button_stopped_between_its_acknowledgement_and_the_submit_is_queued_once(world):
    """V1 acknowledged (the click answered), recorded, stopped before its job was stored: after
    the restart the variation job exists once, its grid is posted, and an ephemeral follow-up
    says what happened (the grid message itself is left as it was)."""
    grid = await _grid(world)
    await _stopped_at(world, "submit")
    await world.alice.click(grid, label="V1")
    (pending,) = await world.service.repository.pending_interactions()
    assert pending.command == "button" and pending.arguments["action"] == "vary"
    assert await _jobs_of_kind(world, "variation") == 0
    await world.restart()
    result = await world.wait_for(lambda m: is_result(m) and "Variations" in m.content, after=grid.id)
    assert result.content.startswith("**a red fox** - Variations")
    await _all_answered(world)
    await world.wait_until(lambda: bool(_original(world, pending.token).followup_ids))
    assert _answer_of(world, pending) == RESUMED_TEXT
    assert await _jobs_of_kind(world, "variation") == 1
    shown = next(message for message in world.messages() if message.id == grid.id)
    assert shown.content == grid.content and len(button_labels(shown)) == len(GRID_LABELS)


async def test_a_blend_stopped_between_the_defer_and_the_submit_is_queued_once(world):
    """/blend deferred and recorded (with its attachments' links), stopped before its job was
    stored: the restart reads the pictures again, queues one blend job and edits "thinking…"."""
    await _stopped_at(world, "submit")
    await world.alice.slash(world.channel, "blend", image1=RED, image2=BLUE)
    (pending,) = await world.service.repository.pending_interactions()
    assert pending.command == "blend" and len(pending.arguments["uploads"]) == 2
    assert _original(world, pending.token).loading
    await world.restart()
    result = await world.wait_for(is_result)
    assert result.content.count("<https://") == 2
    await _all_answered(world)
    assert _answer_of(world, pending) == RESUMED_TEXT
    assert await _jobs_of_kind(world, "blend") == 1


async def test_a_button_stopped_after_its_submit_does_not_queue_the_job_twice(world):
    """The variation job was stored but the record not forgotten: after the restart the job's id
    (from the click) is found, nothing is queued or posted again."""
    grid = await _grid(world)
    repository = world.service.repository
    forget = repository.forget_interaction

    async def killed(interaction_id):
        raise asyncio.CancelledError

    repository.forget_interaction = killed
    await world.alice.click(grid, label="V2")
    await world.wait_for(lambda m: is_result(m) and "Variations" in m.content, after=grid.id)
    (pending,) = await repository.pending_interactions()
    repository.forget_interaction = forget
    await world.restart()
    await _all_answered(world)
    await asyncio.sleep(0.5)
    assert await _jobs_of_kind(world, "variation") == 1
    variations = [m for m in world.messages() if is_result(m) and "Variations" in m.content]
    assert len(variations) == 1
    assert _answer_of(world, pending) == RESUMED_TEXT


async def test_u_n_stopped_before_its_post_is_posted_after_the_restart(world):
    """U3 acknowledged and recorded, stopped before the image was posted: the restart posts
    `Image #3` once, with the click's nonce."""
    grid = await _grid(world)

    async def killed(*args, **kwargs):
        raise asyncio.CancelledError

    world.front.post_single = killed
    await world.alice.click(grid, label="U3")
    (pending,) = await world.service.repository.pending_interactions()
    await world.restart()
    single = await world.wait_for(lambda m: "Image #3" in m.content)
    await _all_answered(world)
    assert "posted now" in _answer_of(world, pending)
    assert len([m for m in world.messages() if "Image #3" in m.content]) == 1
    (post,) = [r for r in world.env.http_requests if r.method == "POST" and _content(r).find("Image #3") >= 0]
    assert post.json["nonce"] == request_nonce(pending.id) and post.json["enforce_nonce"] is True
    assert single.attachments


def _content(request) -> str:
    return str((request.json or {}).get("content") or "")


async def test_every_single_image_post_carries_its_clicks_nonce(world):
    """U1 by two members: each post has `nonce` (with `enforce_nonce`) from its own click, so
    Discord folds a repeated send of one click and never two different clicks."""
    grid = await _grid(world)
    await world.alice.click(grid, label="U1")
    await world.bob.click(grid, label="U1")
    await world.wait_until(lambda: len([m for m in world.messages() if "Image #1" in m.content]) == 2)
    posts = [r for r in world.env.http_requests if r.method == "POST" and "Image #1" in _content(r)]
    clicks = {int(r.path.split("/")[2]) for r in world.env.http_requests if r.path.endswith("/callback")}
    nonces = [post.json.get("nonce") for post in posts]
    assert len(posts) == 2 and len(set(nonces)) == 2
    assert all(post.json.get("enforce_nonce") is True for post in posts)
    assert {nonce for nonce in nonces} <= {request_nonce(click) for click in clicks}


def _field(shown) -> str:
    return shown.modal["components"][0]["components"][0]["custom_id"]


async def _remix(world) -> None:
    grid = await _grid(world)
    await world.service.repository.update_user_settings(world.alice.id, remix=True)
    shown = await world.alice.click(grid, label="V1")
    await _stopped_at(world, "submit")
    await world.alice.submit_modal(shown, {_field(shown): "a blue fox"})


async def _custom_zoom(world) -> None:
    grid = await _grid(world)
    await world.alice.click(grid, label="U1")
    single = await world.wait_for(lambda m: "Image #1" in m.content)
    shown = await world.alice.click(single, label="Custom Zoom")
    await _stopped_at(world, "submit")
    await world.alice.submit_modal(shown, {_field(shown): "a red fox --ar 16:9 --zoom 1.5"})


async def _region_picker(world):
    grid = await _grid(world)
    await world.alice.click(grid, label="U1")
    single = await world.wait_for(lambda m: "Image #1" in m.content)
    picker = (await world.alice.click(single, label="Vary (Region)")).response
    return (await world.alice.select(picker, ["B2", "B3"])).response


async def _region(world) -> None:
    await world.service.repository.update_user_settings(world.alice.id, remix=True)
    chosen = await _region_picker(world)
    shown = await world.alice.click(chosen, label="Submit")
    await _stopped_at(world, "submit")
    await world.alice.submit_modal(shown, {_field(shown): "a red fox with a hat"})


async def _region_own_prompt(world) -> None:
    chosen = await _region_picker(world)  # Remix off: Submit makes the job, no prompt asked
    await _stopped_at(world, "submit")
    await world.alice.click(chosen, label="Submit")


async def _shorter_prompt(world) -> None:
    await world.alice.slash(world.channel, "shorten", prompt="a very red dragon over a small town")
    analysis = await world.wait_for(lambda m: m.content.startswith("**Shorten**"))
    job = await world.job_of(analysis)
    await _stopped_at(world, "submit")
    await world.alice.click(analysis, custom_id=f"mjp:shortpick:{job.id}:1")


async def _shorten(world) -> None:
    await _stopped_at(world, "submit")
    await world.alice.slash(world.channel, "shorten", prompt="a very red dragon over a small town")


async def _confirmed(world) -> None:
    asked = await world.alice.slash(
        world.channel, "imagine", prompt="a {red, green, blue, cyan, pink, gray} bird"
    )
    await _stopped_at(world, "submit")
    await world.alice.click(asked.response, label="Yes")


@pytest.mark.parametrize(
    ("interact", "command", "kind", "count"),
    [
        (_remix, "remix", "variation", 1),
        (_custom_zoom, "customzoom", "zoom", 1),
        (_region, "region", "region", 1),
        (_region_own_prompt, "region", "region", 1),
        (_shorten, "shorten", "shorten", 1),
        (_shorter_prompt, "shortpick", "imagine", 1),
        (_confirmed, "confirm", "imagine", 6),
    ],
    ids=[
        "remix",
        "custom-zoom",
        "region",
        "region-no-remix",
        "shorten",
        "shorter-prompt",
        "yes-to-n-prompts",
    ],
)
async def test_every_job_making_interaction_stopped_before_its_submit_is_queued_once(
    world, interact, command, kind, count
):
    """A remix form, a Custom Zoom form, a Vary (Region) prompt (or Submit, Remix off), /shorten, a shorter prompt's 1️⃣
    and the "submit N prompts?" Yes, each stopped between its acknowledgement and its first
    submit: after the restart the jobs it asked for exist exactly once and the member is told."""
    before = await _jobs_of_kind(world, kind)
    await interact(world)
    (pending,) = await world.service.repository.pending_interactions()
    assert pending.command == command
    assert await _jobs_of_kind(world, kind) == before
    await world.restart()
    await _all_answered(world)
    assert _answer_of(world, pending) == RESUMED_TEXT
    assert await _jobs_of_kind(world, kind) == before + count
