"""The V7/V8 parameters: --raw, --exp, --p/--profile, --sref codes/random/weights, --sv, and errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.engine.family import SDXL
from bot.errors import InvalidLink, InvalidParameter
from bot.prompt import PromptContext, expand_prompt
from bot.prompt.mapping import personalization_scale

ROOT = Path(__file__).resolve().parents[2]
LINK = "https://cdn.example/a.png"


@pytest.fixture
def v7() -> PromptContext:
    """An SDXL context where `--v 7` and `--v 8` name models, as an operator would set them up."""
    return PromptContext(model_aliases={"7": "org/v7", "8": "org/v8", "niji": "org/niji"}, family=SDXL)


# Prompts as guides and galleries write them for V7/V8, and what each must become.
REAL_PROMPTS = [
    ("cinematic portrait of an old fisherman, golden hour --ar 3:2 --v 7 --raw --s 250",
     {"raw": True, "style": "raw", "stylize": 250, "aspect": (3, 2)}),
    ("a cozy reading nook, watercolor --sref 2891766437 --sw 200 --v 7",
     {"style_codes": (2891766437,), "style_weight": 200, "style_refs": ()}),
    ("neon city at night, rain --p --s 400 --v 7",
     {"profiles": (("", 1.0),), "personalization_scale": personalization_scale(400)}),
    ("minimal logo of a fox --exp 25 --v 7 --style raw", {"exp": 25, "raw": True}),
    ("dreamy landscape, soft light --sref 1234567890 --sv 4 --v 7",
     {"style_codes": (1234567890,), "style_version": 4}),
    ("editorial portrait --p m7k2q9 --stylize 500", {"profiles": (("m7k2q9", 1.0),)}),
    ("street photography, tokyo --profile abc123 def456 --v 7",
     {"profiles": (("abc123", 1.0), ("def456", 1.0))}),
    ("surreal desert —ar 16:9 —exp 50 —raw", {"exp": 50, "raw": True, "aspect": (16, 9)}),
    ("product shot of a perfume bottle --chaos 20 --weird 100 --sref 123 --p --exp 10 --v 8",
     {"style_codes": (123,), "exp": 10, "chaos": 20, "weird": 100, "profiles": (("", 1.0),)}),
    (f"a knight --sref {LINK} 2891766437 --sw 300", {"style_refs": (LINK,), "style_codes": (2891766437,)}),
    (f"a knight --sref {LINK}::2 77::1", {"style_refs": (LINK, LINK), "style_codes": (77,)}),
    ("cat --p k3v9qz::2 m7abc::0.5 --s 0", {"profiles": (("k3v9qz", 2.0), ("m7abc", 0.5))}),
    ("fox in snow --exp 100 --q 2 --v 7 --draft", {"exp": 100, "draft": True}),
    ("fox in snow --exp 0 --sv 6", {"exp": 0, "style_version": 6}),
    ("a cathedral interior, volumetric light --q 4 --v 7", {"quality": 4.0, "steps": 120}),
    (f"a red chair --oref {LINK} --ow 400 --v 7", {"object_refs": (LINK,), "object_weight": 400, "object_scale": 1.167}),
    ("a bowl of ramen --niji --p", {"profiles": (("", 1.0),), "model": "org/niji"}),
    ("a PORTRAIT --SREF 42 --RAW --EXP 5 --P ABC", {"style_codes": (42,), "exp": 5, "profiles": (("abc", 1.0),)}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), REAL_PROMPTS)
def test_real_v7_v8_prompts_parse(v7: PromptContext, text: str, expected: dict) -> None:
    """Prompts copied from V7/V8 guides are read, each parameter landing where it should."""
    (request,) = expand_prompt(text, v7)
    for name, value in expected.items():
        assert getattr(request, name) == value, name


@pytest.mark.parametrize(
    ("params", "error", "fragment"),
    [
        (
            "--exp 101",
            InvalidParameter,
            "Invalid value `101` for `--exp`: expected a whole number from 0 to 100",
        ),
        ("--exp -1", InvalidParameter, "--exp"),
        ("--exp 2.5", InvalidParameter, "--exp"),
        ("--exp", InvalidParameter, "`--exp` needs a value"),
        ("--raw 5", InvalidParameter, "`--raw` takes no value"),
        ("--sv 0", InvalidParameter, "from 1 to 7"),
        ("--sv 8", InvalidParameter, "from 1 to 7"),
        ("--sv", InvalidParameter, "needs a value"),
        ("--sref 12345678901", InvalidParameter, "Invalid style code `12345678901`"),
        ("--sref random::x", InvalidParameter, "Invalid weight `::x`"),
        ("--sref 12::11", InvalidParameter, "from 0 to 10"),
        ("--sref 12::0", InvalidParameter, "add up to 0"),
        ("--sref random watercolor", InvalidLink, "`watercolor` is not an http(s) link"),
        ("--sref 1 2 3 4 5 6", InvalidLink, "At most 5 style references"),
        ("--p a::0", InvalidParameter, "add up to 0"),
        ("--p bad!code", InvalidParameter, "not a profile or moodboard code"),
        ("--p a b c d e f", InvalidParameter, "At most 5 profile codes"),
        ("--profile x::-1", InvalidParameter, "Invalid weight"),
        ("--personalise", InvalidParameter, "Did you mean `--personalize`?"),
        ("--ow 1001", InvalidParameter, "from 0 to 1000"),
    ],
)
def test_bad_values_get_midjourney_errors(v7: PromptContext, params: str, error: type, fragment: str) -> None:
    """Out-of-range or malformed values are refused with Midjourney's error, naming the parameter."""
    with pytest.raises(error) as caught:
        expand_prompt(f"a cat {params}", v7)
    assert fragment in str(caught.value)


def test_raw_is_style_raw_and_skips_the_house_style() -> None:
    """`--raw` drops the server's default style preset exactly as `--style raw` does."""
    from bot.prompt import StylePreset

    context = PromptContext(
        presets={"house": StylePreset("house", "{prompt}, oil painting")}, default_style="house"
    )
    (styled,) = expand_prompt("a cat", context)
    (raw,) = expand_prompt("a cat --raw", context)
    (style_raw,) = expand_prompt("a cat --style raw", context)
    assert styled.prompt == "a cat, oil painting"
    assert raw.prompt == style_raw.prompt == "a cat" and raw.raw and raw.style == "raw"


def test_sref_random_shows_a_code_that_reproduces_the_job(v7: PromptContext) -> None:
    """`random` is replaced by a picked code in the display prompt; re-reading it gives the same codes."""
    picks = iter([1111, 2222, 3333, 4444])
    jobs = expand_prompt("a cat --sref random 55 --repeat 2", v7, pick_style=lambda: next(picks))
    assert [job.style_codes for job in jobs] == [(1111, 55), (2222, 55)]
    assert [job.display_prompt for job in jobs] == [
        "a cat --sref 1111 55 --repeat 2",
        "a cat --sref 2222 55 --repeat 2",
    ]
    (again,) = expand_prompt(jobs[0].display_prompt.replace(" --repeat 2", ""), v7)
    assert again.style_codes == jobs[0].style_codes


def test_stylize_scales_personalization_and_exp_reaches_the_engine(v7: PromptContext) -> None:
    """--s 0/100/1000 give personalization scales 0.3/0.8/1.2; --exp and codes travel in the recipe."""
    assert [personalization_scale(s) for s in (0, 100, 1000)] == [0.3, 0.8, 1.2]
    (job,) = expand_prompt("a cat --p abc::2 --exp 30 --sref 9", v7)
    generation = job.to_generation(seed=1)
    assert generation.exp == 30
    assert generation.extra["profiles"] == [["abc", 2.0]] and generation.extra["personalization_scale"] == 0.8
    assert generation.extra["references"] == [{"kind": "style", "url": "", "scale": 0.8, "code": 9}]
    (plain,) = expand_prompt("a cat", v7)
    assert plain.to_generation(seed=1).exp == 0 and "profiles" not in plain.to_generation(seed=1).extra


def test_new_fields_survive_the_stored_round_trip(v7: PromptContext) -> None:
    """An ImagineRequest with codes and profiles is the same after to_dict → JSON → from_dict."""
    from bot.prompt import ImagineRequest

    (job,) = expand_prompt("a cat --p abc::2 --sref 9 random --exp 3 --sv 4", v7, pick_style=lambda: 7)
    assert ImagineRequest.from_dict(json.loads(json.dumps(job.to_dict()))) == job


def test_parse_cli_shows_the_new_parameters_without_torch(tmp_path: Path) -> None:
    """`python -m bot parse` prints the codes, profiles and --exp, and never imports torch."""
    env = {**os.environ, "MODEL": "tiny", "PYTHONPATH": str(ROOT)}
    env.pop("MODEL_ALIASES", None)
    code = (
        "import sys; from bot.cli import main; "
        "status = main(['--env-file', sys.argv[1], 'parse', 'a cat --raw --exp 25 --p k3v9qz --sref 42 --sv 4']); "
        "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(status)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "none.env")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    (job,) = json.loads(done.stdout)["jobs"]
    assert (job["raw"], job["exp"], job["profiles"], job["style_codes"], job["style_version"]) == (
        True, 25, [["k3v9qz", 1.0]], [42], 4,
    )  # fmt: skip


@pytest.mark.parametrize("text", ["a fox --v 7", "a fox --v 8 --ar 16:9", "a fox --v 6.1", "a fox --niji 6"])
def test_midjourney_versions_without_an_alias_use_the_default_model(text: str) -> None:
    """A V7/V8 prompt pasted from a guide works on a server that mapped no versions: the default
    model makes it, and the note says so (Midjourney's errors are for versions that never existed)."""
    (request,) = expand_prompt(text, PromptContext(family=SDXL))
    assert request.model == "" and request.family == SDXL.name
    assert "uses this server's default model" in request.draft_note


@pytest.mark.parametrize("text", ["a fox --v 9", "a fox --v 7.5", "a fox --niji 3", "a fox --v banana"])
def test_versions_midjourney_never_had_are_refused(text: str) -> None:
    with pytest.raises(InvalidParameter, match="Unknown model version"):
        expand_prompt(text, PromptContext(family=SDXL))
