"""Settings: defaults, validation with one clear line, and .env.example documenting all of them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Config, settings_docs
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_need_nothing_but_the_token_to_run():
    """An empty environment gives the documented defaults; only running the bot needs a token."""
    settings = Config.from_env({})
    assert settings.discord_api_base == "https://discord.com/api/v10"
    assert settings.data_dir == Path("data")
    assert settings.models_dir == Path("models")
    assert settings.device == "auto"
    assert settings.max_jobs_per_user == 10
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        settings.require_token()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DEVICE", "gpu", "one of auto, cpu, cuda, mps"),
        ("DISCORD_API_BASE", "discord.com", "URL"),
        ("DISCORD_GATEWAY_URL", "gateway", "URL"),
        ("MAX_JOBS_PER_USER", "ten", "whole number from 1 to 1000"),
        ("MAX_JOBS_PER_USER", "0", "whole number from 1 to 1000"),
        ("PROGRESS_INTERVAL", "-1", "number from 0 to 60"),
        ("STEPS", "500", "whole number from 1 to 150"),
        ("DEV_GUILD_ID", "abc", "whole number"),
        ("MODEL_ALIASES", "niji", "name=model"),
        ("LOG_LEVEL", "loud", "DEBUG"),
    ],
)
def test_bad_values_name_the_variable_and_what_it_expects(name, value, expected):
    """A malformed value raises ConfigError naming the variable, the value and the expectation."""
    with pytest.raises(ConfigError) as caught:
        Config.from_env({name: value})
    message = str(caught.value)
    assert message.startswith(f"{name}={value!r} is not valid")
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "value", "field", "expected"),
    [
        ("DEVICE", "CUDA", "device", "cuda"),
        (
            "MODEL_ALIASES",
            "niji=a/b, 5=c.safetensors",
            "model_aliases",
            {"niji": "a/b", "5": "c.safetensors"},
        ),
        ("STEPS", "12", "steps", 12),
        ("STEPS", "", "steps", None),
        ("DATA_DIR", "/srv/bot", "data_dir", Path("/srv/bot")),
        (
            "DISCORD_API_BASE",
            "http://127.0.0.1:9999/api/v10/",
            "discord_api_base",
            "http://127.0.0.1:9999/api/v10",
        ),
    ],
)
def test_good_values_are_parsed(name, value, field, expected):
    """Valid values become typed fields."""
    assert getattr(Config.from_env({name: value}), field) == expected


def test_env_example_documents_every_setting():
    """Every variable the bot reads appears in .env.example with its default."""
    text = (ROOT / ".env.example").read_text()
    for env, default, _doc in settings_docs():
        match = re.search(rf"^{env}=(.*)$", text, re.MULTILINE)
        assert match, f"{env} is missing from .env.example"
        assert match.group(1) == default, f"{env} default differs in .env.example"


def test_readme_documents_every_setting():
    """The README's settings table lists every variable."""
    readme = (ROOT / "README.md").read_text()
    missing = [env for env, _, _ in settings_docs() if f"`{env}`" not in readme]
    assert not missing


def test_bad_setting_stops_the_cli_with_one_line(tmp_path):
    """`python -m bot` with a bad value exits 2 printing one line, no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", str(tmp_path / "none"), "parse", "a cat"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DEVICE": "gpu"},
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: DEVICE='gpu' is not valid: expected one of auto, cpu, cuda, mps"
    ]
