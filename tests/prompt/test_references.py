"""Reference parameters: --sref/--sw, --cref/--cw, --oref/--ow, their SD mapping and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.errors import InvalidLink, InvalidParameter
from bot.prompt import PromptContext, expand_prompt
from bot.prompt.params import PARAMETERS

ROOT = Path(__file__).resolve().parents[2]
A, B = "https://cdn.example/a.png", "https://cdn.example/b.png"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (f"--sref {A}", {"style_refs": (A,), "style_weight": 100, "style_scale": 0.8}),
        (f"--sref {A} <{B}> --sw 0", {"style_refs": (A, B), "style_weight": 0, "style_scale": 0.0}),
        (f"--sref {A} --sw 1000", {"style_scale": 1.5}),
        (f"--cref {A} --cw 40", {"character_refs": (A,), "character_weight": 40, "character_scale": 0.4}),
        (f"--oref {A} --ow 0", {"object_refs": (A,), "object_weight": 0, "object_scale": 0.0}),
        ("--iw 2", {"image_weight": 2.0, "image_prompt_scale": 1.0}),
    ],
)
def test_reference_parameters_and_their_scales(context: PromptContext, params: str, expected: dict) -> None:
    """Each reference parameter lands in the request with its IP-Adapter scale (mapping.py)."""
    (request,) = expand_prompt(f"a knight {params}", context)
    for field, value in expected.items():
        assert getattr(request, field) == value


def test_references_travel_with_the_generation_request(context: PromptContext) -> None:
    """to_generation carries kind, link and scale of every reference (the job stores them)."""
    (request,) = expand_prompt(f"a knight --sref {A} --cref {B} --cw 50", context)
    extra = request.to_generation(seed=1).extra
    assert extra["references"] == [
        {"kind": "style", "url": A, "scale": 0.8},
        {"kind": "character", "url": B, "scale": 0.5},
    ]


@pytest.mark.parametrize(
    ("params", "error", "fragment"),
    [
        ("--cref ftp://x.example/a.png", InvalidLink, "ftp://x.example/a.png"),
        ("--cref notalink", InvalidLink, "notalink"),
        (f"--oref {A} {B}", InvalidLink, "At most 1"),
        (f"--sref {A} {A} {A} {A} {A} {A}", InvalidLink, "At most 5"),
        ("--sw 1001", InvalidParameter, "0 to 1000"),
        ("--cw 101", InvalidParameter, "0 to 100"),
        ("--ow -1", InvalidParameter, "--ow"),
        ("--sref", InvalidParameter, "needs a value"),
    ],
)
def test_bad_references_are_refused(context: PromptContext, params: str, error: type, fragment: str) -> None:
    """Malformed links are `Invalid link`, bad weights `Invalid parameter`, naming the culprit."""
    with pytest.raises(error) as caught:
        expand_prompt(f"a knight {params}", context)
    assert fragment in str(caught.value)


def test_parse_shows_references(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    """`python -m bot parse` prints the references, weights and scales."""
    monkeypatch.setenv("MODEL", "tiny")
    status = main(
        ["--env-file", str(tmp_path / "none.env"), "parse", f"a knight --sref {A} --sw 500 --cref {B}"]
    )
    (job,) = json.loads(capsys.readouterr().out)["jobs"]
    assert status == 0
    assert job["style_refs"] == [A] and job["style_weight"] == 500 and job["character_refs"] == [B]
    assert job["style_scale"] == pytest.approx(0.8 + 0.7 * 400 / 900, abs=1e-3)


def test_readme_lists_every_parameter_and_the_new_mappings() -> None:
    """The README's parameter table names every parameter; its mapping table the reference ones."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Prompt language") :]
    for parameter in PARAMETERS:
        assert f"`--{parameter.name}" in section, parameter.name
    mapping = section[section.index("### How parameters become") :]
    for name in (
        "--sref",
        "--sw",
        "--cref",
        "--cw",
        "--oref",
        "--ow",
        "--iw",
        "/blend",
        "/describe",
        "/shorten",
    ):
        assert f"`{name}" in mapping, name
