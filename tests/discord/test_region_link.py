"""Vary (Region)'s reply links the browser editor when PUBLIC_URL is set (and only then)."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

from bot.config import Config
from bot.discord.exts.actions._region import editor_link, region_content
from bot.web.links import EditorLink, WebAddresses, verify_editor_link

JOB = "0f8fad5b-d9cb-469f-a165-70867728950e"


def test_the_link_opens_the_editor_on_the_same_image_for_the_member(tmp_path):
    """Image #2 (1-based in Discord) → the editor's 0-based index 1, signed for this member."""
    config = replace(Config.from_env({"DATA_DIR": str(tmp_path)}), public_url="https://bot.example")
    url = editor_link(WebAddresses(config), JOB, 2, user_id=42)
    parts = urlsplit(url)
    assert url.startswith("https://bot.example/edit/") and parts.path == f"/edit/{JOB}/1"
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    link = EditorLink(JOB, 1, int(query["u"]), int(query["e"]), query["n"], query["s"])
    assert link.user_id == 42 and verify_editor_link(config, link)
    assert f"<{url}>" in region_content([5], url)


def test_no_public_url_no_link(tmp_path):
    """Without PUBLIC_URL the reply has no link (the cell picker alone)."""
    config = Config.from_env({"DATA_DIR": str(tmp_path)})
    assert editor_link(WebAddresses(config), JOB, 1, user_id=42) == ""
    assert "browser" not in region_content([], "")
