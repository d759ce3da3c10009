"""`python -m bot parse --user-id --guild-id`: the user's /settings, suffix and options and the
server's styles, read from DATA_DIR's database without writing to it, change what parse shows."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import Config
from bot.governance.models import GuildRules, PersonalSettings
from bot.prompt import StylePreset
from bot.store.repository import Repository

USER = 42
GUILD = 7
OTHER_USER = 43


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings for the tiny model with DATA_DIR in a temp folder, model aliases `6` and `niji6`."""
    for name in ("STEPS", "MODELS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODEL", "tiny")
    monkeypatch.setenv("MODEL_ALIASES", "6=tiny,niji6=tiny")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


async def _store(
    data_dir: Path, user: PersonalSettings | None = None, options: dict[str, str] | None = None
) -> None:
    settings = Config.from_env({"DATA_DIR": str(data_dir)})
    repository = await Repository.open(settings.database_path, settings.images_dir)
    try:
        if user is not None:
            await repository.set_user_settings(user)
        for name, value in (options or {}).items():
            await repository.set_user_option(USER, name, value)
        await repository.set_guild_preset(
            GUILD, StylePreset("neon", "{prompt}, neon-noir", "daylight", "--ar 3:2")
        )
        await repository.set_guild_rules(GuildRules(GUILD, default_style="neon"))
    finally:
        await repository.close()


def _write(
    data_dir: Path, user: PersonalSettings | None = None, options: dict[str, str] | None = None
) -> None:
    """Store the user's settings and options and the server's `neon` default style, as the bot would."""
    asyncio.run(_store(data_dir, user, options))


def _parse(data_dir: Path, capsys: pytest.CaptureFixture[str], prompt: str, *ids: str) -> dict[str, Any]:
    status = main(["--env-file", str(data_dir.parent / "absent.env"), "parse", *ids, prompt])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return json.loads(captured.out)


def _ids(user: int = USER, guild: int = GUILD) -> tuple[str, ...]:
    return ("--user-id", str(user), "--guild-id", str(guild))


STORED = [
    # (what the user stored, prompt, expected fields of the one job)
    (PersonalSettings(USER, stylize=750), "a cat", {"stylize": 750}),
    (PersonalSettings(USER, stylize=750), "a cat --s 20", {"stylize": 20}),
    (PersonalSettings(USER, speed="relax"), "a cat", {"speed": "relax"}),
    (PersonalSettings(USER, speed="relax"), "a cat --fast", {"speed": "fast"}),
    (PersonalSettings(USER, model="6"), "a cat", {"version": "6"}),
    (PersonalSettings(USER, raw=True), "a cat", {"style": "raw", "prompt": "a cat", "negative_prompt": ""}),
    (PersonalSettings(USER, suffix="oil painting --ar 2:1"), "a cat", {"prompt": "a cat oil painting, neon-noir", "aspect": "2:1"}),
    (PersonalSettings(USER, suffix="--ar 2:1"), "a cat --ar 1:1", {"aspect": "1:1"}),
    (None, "a cat", {"prompt": "a cat, neon-noir", "aspect": "3:2", "negative_prompt": "daylight"}),
]  # fmt: skip


@pytest.mark.parametrize(("user", "prompt", "expected"), STORED)
def test_stored_settings_and_suffix_change_what_parse_shows(
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    user: PersonalSettings | None,
    prompt: str,
    expected: dict,
) -> None:
    """Typed parameters beat /settings and the suffix, which beat the server's default style."""
    _write(data_dir, user)
    (job,) = _parse(data_dir, capsys, prompt, *_ids())["jobs"]
    assert {field: job[field] for field in expected} == expected


def test_options_expand_only_for_their_owner(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--wide` is alice's option: it expands for her, and is an unknown parameter for anyone else."""
    _write(data_dir, options={"wide": "--ar 21:9 --s 500"})
    shown = _parse(data_dir, capsys, "a cat --wide", *_ids())
    (job,) = shown["jobs"]
    assert (job["aspect"], job["stylize"]) == ("21:9", 500)
    assert shown["context"]["options"] == {"wide": "--ar 21:9 --s 500"}
    status = main(
        ["--env-file", str(data_dir.parent / "absent.env"), "parse", *_ids(OTHER_USER), "a cat --wide"]
    )
    assert status == 2
    assert "Unrecognized parameter `--wide`" in capsys.readouterr().err


def test_the_same_user_elsewhere_has_no_server_style(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Styles belong to their server: without --guild-id (or in another) the neon default is absent."""
    _write(data_dir, PersonalSettings(USER, stylize=250))
    (job,) = _parse(data_dir, capsys, "a cat", "--user-id", str(USER))["jobs"]
    assert (job["prompt"], job["stylize"]) == ("a cat", 250)
    (job,) = _parse(data_dir, capsys, "a cat", *_ids(guild=GUILD + 1))["jobs"]
    assert job["prompt"] == "a cat"


def test_parse_never_writes_to_the_database(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The dry run reads the database as it is: the file and its rows are unchanged afterwards."""
    _write(data_dir, PersonalSettings(USER, stylize=50))
    database = data_dir / "bot.sqlite3"
    before = database.read_bytes()
    _parse(data_dir, capsys, "a cat", *_ids())
    assert database.read_bytes() == before
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT COUNT(*) FROM user_settings").fetchone() == (1,)


def test_without_a_database_parse_reads_the_prompt_plainly(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No DATA_DIR database yet: the ids are accepted, nothing is created, the model facts apply."""
    shown = _parse(data_dir, capsys, "a cat", *_ids())
    assert shown["jobs"][0]["prompt"] == "a cat"
    assert shown["context"] == {
        "user_defaults": "",
        "suffix": "",
        "options": {},
        "styles": [],
        "default_style": None,
    }
    assert not data_dir.exists()
