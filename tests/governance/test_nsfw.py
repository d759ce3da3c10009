"""The NSFW policy: NSFW_FILTER read from settings, applied to the verdicts stored with a job."""

from __future__ import annotations

import pytest
from PIL import Image

from bot.config import Config
from bot.errors import ConfigError
from bot.governance.nsfw import PLACEHOLDER_GREY, NsfwFilter, NsfwPolicy, blur_flagged, hide_flagged
from bot.jobs.models import Job, JobKind, JobStatus


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({}, NsfwFilter.OFF),
        ({"NSFW_FILTER": "off", "NSFW_MODEL": "some/model"}, NsfwFilter.OFF),
        ({"NSFW_FILTER": "Spoiler", "NSFW_MODEL": "some/model"}, NsfwFilter.SPOILER),
        ({"NSFW_FILTER": "block", "NSFW_MODEL": "/models/checker"}, NsfwFilter.BLOCK),
    ],
)
def test_policy_from_settings(env, mode):
    """NSFW_FILTER picks the mode; nothing is loaded (the model is the GPU worker's)."""
    policy = NsfwPolicy.from_settings(Config.from_env(env))
    assert policy.mode is mode
    assert policy.active is (mode is not NsfwFilter.OFF)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NSFW_FILTER": "blur"}, "NSFW_FILTER='blur' is not valid: expected one of off, spoiler, block"),
        ({"NSFW_FILTER": "block", "NSFW_CHECKER": "safety-checker"}, "NSFW_FILTER=block needs NSFW_MODEL"),
    ],
)
def test_bad_nsfw_settings_are_one_line_config_errors(env, message):
    """A filter without a model, or an unknown mode, stops start-up with a clear line."""
    with pytest.raises(ConfigError, match=message):
        NsfwPolicy.from_settings(Config.from_env(env))


def job_with(meta: dict) -> Job:
    return Job(
        id="00000000-0000-0000-0000-000000000001",
        kind=JobKind.IMAGINE,
        status=JobStatus.DONE,
        user_id=1,
        guild_id=None,
        channel_id=None,
        prompt="a beach",
        request={},
        meta=meta,
    )


@pytest.mark.parametrize(
    ("mode", "meta", "expected"),
    [
        (NsfwFilter.OFF, {"nsfw": [True, True]}, [False, False]),
        (NsfwFilter.SPOILER, {"nsfw": [False, True]}, [False, True]),
        (NsfwFilter.BLOCK, {"nsfw": [False, False]}, [False, False]),
        # No verdicts (finished with the filter off or before the move; the check failed): flagged.
        (NsfwFilter.BLOCK, {}, [True, True]),
        (NsfwFilter.SPOILER, {"nsfw": [False]}, [True, True]),
    ],
)
def test_flagged_reads_the_stored_verdicts(mode, meta, expected):
    """Off: nothing flagged; on: the stored verdicts, or every image when none match the images."""
    assert NsfwPolicy(mode).flagged(job_with(meta), 2) == expected


def test_hide_flagged_blanks_only_flagged_images():
    """Flagged images become grey tiles of the same size; the others are the same objects."""
    images = [Image.new("RGB", (8, 16), (255, 0, 0)), Image.new("RGB", (8, 16), (0, 255, 0))]
    hidden = hide_flagged(images, [False, True])
    assert hidden[0] is images[0]
    assert hidden[1].size == (8, 16)
    assert hidden[1].getpixel((4, 4)) == PLACEHOLDER_GREY


def test_blur_flagged_blurs_only_flagged_images():
    """A flagged picture of sharp stripes comes back the same size with the stripes smeared away."""
    stripes = Image.new("RGB", (64, 64), (0, 0, 0))
    for x in range(0, 64, 2):
        stripes.paste((255, 255, 255), (x, 0, x + 1, 64))
    kept, blurred = blur_flagged([stripes, stripes], [False, True])
    assert kept is stripes
    assert blurred.size == (64, 64)
    values = [blurred.getpixel((x, 32))[0] for x in range(20, 44)]
    assert max(values) - min(values) < 40  # the stripes were 0 / 255


def test_covered_picture_is_a_grid_of_the_files_as_shown(tmp_path):
    """Block: the grid of four files with #2 blanked; the file itself is unchanged."""
    paths = []
    for n in range(4):
        path = tmp_path / f"{n}.png"
        Image.new("RGB", (16, 16), (200, 30 * n, 10)).save(path)
        paths.append(path)
    grid = NsfwPolicy(NsfwFilter.BLOCK).covered_picture(paths, [False, True, False, False])
    assert grid.size == (32, 32)
    assert grid.getpixel((24, 8)) == PLACEHOLDER_GREY
    assert grid.getpixel((8, 8)) == (200, 0, 10)
    with Image.open(paths[1]) as original:
        assert original.getpixel((8, 8)) == (200, 30, 10)


@pytest.mark.parametrize(("setting", "expected"), [("flag", [True, True]), ("show", [False, False])])
def test_images_without_a_verdict_follow_the_operators_setting(setting, expected):
    """NSFW_NO_VERDICT decides for a job with no stored verdicts; stored verdicts always win."""
    policy = NsfwPolicy.from_settings(
        Config.from_env({"NSFW_FILTER": "block", "NSFW_MODEL": "a/b", "NSFW_NO_VERDICT": setting})
    )
    assert policy.flagged(job_with({}), 2) == expected
    assert policy.flagged(job_with({"nsfw": [True, False]}), 2) == [True, False]


def test_the_checker_is_nudenet_unless_nsfw_model_names_diffusers_one():
    """NSFW_CHECKER=auto: safety-checker when NSFW_MODEL is set, else nudenet when installed."""
    from bot.engine.nudenet import nudenet_model_path
    from bot.engine.safety_checker import checker_kind

    assert checker_kind(Config.from_env({"NSFW_MODEL": "a/b"})) == "safety-checker"
    installed = nudenet_model_path() is not None
    assert checker_kind(Config.from_env({})) == ("nudenet" if installed else "safety-checker")
    assert checker_kind(Config.from_env({"NSFW_CHECKER": "nudenet", "NSFW_MODEL": "a/b"})) == "nudenet"
