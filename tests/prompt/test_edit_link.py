"""`--edit <link>`: the prompt edits one linked image (the Edit model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.errors import InvalidLink, InvalidParameter
from bot.prompt import PromptContext, expand_prompt

A, B = "https://cdn.example/a.png", "https://cdn.example/b.png"


def test_edit_takes_one_link_and_leaves_the_prompt(context: PromptContext) -> None:
    """The link is the image to edit; the text (with --no) is the instruction."""
    (request,) = expand_prompt(f"red jacket --no hat --edit {A}", context)
    assert request.edit_link == A and request.prompt == "red jacket" and request.negative_prompt == "hat"
    (plain,) = expand_prompt("red jacket", context)
    assert plain.edit_link == ""


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("red jacket --edit not-a-link", InvalidLink),
        (f"red jacket --edit {A} {B}", InvalidLink),
        (f"{B} red jacket --edit {A}", InvalidParameter),
        (f"red jacket --edit {A} --sref {B}", InvalidParameter),
    ],
)
def test_edit_refuses_bad_links_and_other_images(context: PromptContext, text: str, error: type) -> None:
    """Not a link, two links, or an image prompt/reference beside it: Midjourney-style errors."""
    with pytest.raises(error):
        expand_prompt(text, context)


def test_parse_shows_the_edit_link(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    """`python -m bot parse` prints the image an `--edit` prompt edits."""
    monkeypatch.setenv("MODEL", "tiny")
    status = main(["--env-file", str(tmp_path / "none.env"), "parse", f"blue fur --edit {A}"])
    (job,) = json.loads(capsys.readouterr().out)["jobs"]
    assert status == 0 and job["edit_link"] == A
