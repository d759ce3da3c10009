"""Links into the web app: job pages, and editor links that are signed and expire."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.config import Config
from bot.web.links import EditorLink, editor_url, job_url, signing_key, verify_editor_link


def _settings(tmp_path, **env) -> Config:
    return Config.from_env({"DATA_DIR": str(tmp_path), **env})


def _parse(url: str) -> EditorLink:
    parts = urlsplit(url)
    _, _, job_id, index = parts.path.split("/")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return EditorLink(job_id, int(index), int(query["u"]), int(query["e"]), query["n"], query["s"])


def test_job_url_uses_public_url_else_the_listening_address(tmp_path):
    """PUBLIC_URL wins; without it the link points at WEB_HOST:WEB_PORT."""
    assert job_url(_settings(tmp_path, PUBLIC_URL="https://mj.example.org/"), "abc") == (
        "https://mj.example.org/jobs/abc"
    )
    assert job_url(_settings(tmp_path, WEB_PORT="9000"), "abc") == "http://127.0.0.1:9000/jobs/abc"


def test_editor_link_verifies_and_every_field_is_signed(tmp_path):
    """A fresh link verifies; changing job, index, user, expiry or nonce breaks the signature."""
    settings = _settings(tmp_path, PUBLIC_URL="https://mj.example.org")
    url = editor_url(settings, job_id="job-1", index=2, user_id=42)
    assert url.startswith("https://mj.example.org/edit/job-1/2?")
    link = _parse(url)
    assert verify_editor_link(settings, link)
    for change in (
        {"job_id": "job-2"},
        {"index": 3},
        {"user_id": 43},
        {"expires": link.expires + 3600},
        {"nonce": "other"},
        {"signature": "0" * 64},
    ):
        assert not verify_editor_link(settings, dataclasses.replace(link, **change)), change


def test_editor_link_expires(tmp_path):
    """A link older than its time to live is refused."""
    settings = _settings(tmp_path)
    link = _parse(editor_url(settings, job_id="j", index=1, user_id=1, ttl=60, now=1000.0))
    assert verify_editor_link(settings, link, now=1059.0)
    assert not verify_editor_link(settings, link, now=1061.0)


@pytest.mark.parametrize("secret", ["", "operator-secret"])
def test_links_from_another_key_are_refused(tmp_path, secret):
    """A link signed with another deployment's key does not verify; the generated key persists."""
    ours = _settings(tmp_path / "a", WEB_SECRET=secret)
    theirs = _settings(tmp_path / "b", WEB_SECRET=secret + "x" if secret else "")
    link = _parse(editor_url(theirs, job_id="j", index=1, user_id=1))
    assert not verify_editor_link(ours, link)
    assert signing_key(ours) == signing_key(ours)
