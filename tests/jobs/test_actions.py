"""The action table: every name (stable, Discord custom-id, web) means one action, the names
today's posted buttons, recorded interactions and web pages use resolve to the same action, and
the fronts' layouts come from it."""

from __future__ import annotations

import pytest

from bot.jobs.actions import ACTIONS, ENHANCE, Form, Surface, Who, cli_actions, layout, resolve, web_buttons
from bot.jobs.models import JobKind

# Literal names as the code before the action table wrote them: Discord custom ids
# (`mj:<name>:<job>:<n>`, `mjp:<name>:<job>:<n>`) and pending interactions' `action`, and the
# web's `POST /api/jobs/{id}/actions` names. (kind, mode) of the job each makes.
DISCORD_NAMES = {
    "pick": ("pick", None, None),
    "vary": ("vary", JobKind.VARIATION, None),
    "reroll": ("reroll", JobKind.REROLL, None),
    "enhance": ("enhance", JobKind.REROLL, "enhance"),
    "strong": ("vary_strong", JobKind.VARIATION, "strong"),
    "subtle": ("vary_subtle", JobKind.VARIATION, "subtle"),
    "upsubtle": ("upscale_subtle", JobKind.UPSCALE, "subtle"),
    "upcreative": ("upscale_creative", JobKind.UPSCALE, "creative"),
    "region": ("vary_region", JobKind.REGION, None),
    "zoomtwo": ("zoom_out_2", JobKind.ZOOM, "2"),
    "zoomonefive": ("zoom_out_1_5", JobKind.ZOOM, "1.5"),
    "zoomcustom": ("custom_zoom", JobKind.ZOOM, None),
    "square": ("make_square", JobKind.ZOOM, "square"),
    "panleft": ("pan_left", JobKind.PAN, "left"),
    "panright": ("pan_right", JobKind.PAN, "right"),
    "panup": ("pan_up", JobKind.PAN, "up"),
    "pandown": ("pan_down", JobKind.PAN, "down"),
    "cancel": ("cancel", None, None),
    "fav": ("favourite", None, None),
    "suggest": ("describe_pick", JobKind.IMAGINE, None),
    "suggestall": ("describe_all", JobKind.IMAGINE, None),
    "redescribe": ("redescribe", JobKind.DESCRIBE, None),
    "shortpick": ("shorten_pick", JobKind.IMAGINE, None),
}
WEB_NAMES = {
    "variation": ("vary", JobKind.VARIATION, None),
    "vary_strong": ("vary_strong", JobKind.VARIATION, "strong"),
    "vary_subtle": ("vary_subtle", JobKind.VARIATION, "subtle"),
    "reroll": ("reroll", JobKind.REROLL, None),
    "upscale_subtle": ("upscale_subtle", JobKind.UPSCALE, "subtle"),
    "upscale_creative": ("upscale_creative", JobKind.UPSCALE, "creative"),
    "zoom_out_2": ("zoom_out_2", JobKind.ZOOM, "2"),
    "zoom_out_1_5": ("zoom_out_1_5", JobKind.ZOOM, "1.5"),
    "make_square": ("make_square", JobKind.ZOOM, "square"),
    "custom_zoom": ("custom_zoom", JobKind.ZOOM, None),
    "pan_left": ("pan_left", JobKind.PAN, "left"),
    "pan_right": ("pan_right", JobKind.PAN, "right"),
    "pan_up": ("pan_up", JobKind.PAN, "up"),
    "pan_down": ("pan_down", JobKind.PAN, "down"),
}


@pytest.mark.parametrize(("name", "expected"), sorted(DISCORD_NAMES.items()))
def test_discord_names_written_before_the_table_still_resolve(name, expected):
    """Each custom-id name already posted (and recorded) means the same action as before."""
    action = resolve(name, front="discord")
    assert action is not None and (action.name, action.kind, action.mode) == expected
    assert action.custom_id_name == name  # and new buttons still carry the same id


@pytest.mark.parametrize(("name", "expected"), sorted(WEB_NAMES.items()))
def test_web_names_sent_before_the_table_still_resolve(name, expected):
    """Each name the web pages sent means the same action, and the pages send it still."""
    action = resolve(name, front="web")
    assert action is not None and (action.name, action.kind, action.mode) == expected
    assert action.web_name == name


def test_every_name_means_one_action():
    """No name (stable, Discord or web) is shared by two rows; custom-id names fit the id pattern."""
    stable = [action.name for action in ACTIONS]
    discord = [alias for action in ACTIONS for alias in action.discord]
    assert len(set(stable)) == len(stable) and len(set(discord)) == len(discord)
    assert all(alias.isalpha() and alias.islower() for alias in discord)
    for action in ACTIONS:
        assert all(resolve(alias, front="discord") is action for alias in action.discord)
        if action.surface not in (Surface.DESCRIBE, Surface.SHORTEN):  # their web API has its own names
            assert all(resolve(alias, front="web") is action for alias in (action.name, *action.web))
    assert resolve("nosuchbutton") is None


def test_rows_say_remix_forms_drafts_who_and_cost():
    """The table's facts the fronts rely on."""
    assert {a.name for a in ACTIONS if a.form is Form.REGION} == {"vary_region"}
    assert {a.name for a in ACTIONS if a.form is Form.CUSTOM_ZOOM} == {"custom_zoom"}
    assert not resolve("upscale_subtle").remix and not resolve("enhance").remix and resolve("vary").remix
    assert resolve("enhance").drafts is True and resolve("enhance").mode == ENHANCE
    assert resolve("cancel").who is Who.OWNER and resolve("pick").cost == 0
    assert resolve("upscale_creative").cost > resolve("vary_strong").cost > 0


def test_layouts_are_midjourneys_rows():
    """Grid: U1-4 🔄 / V1-4 (/ ✨ on drafts); single image: Vary, Upscale (not on an upscale) and
    Animate, Zoom (Make Square on a non-square image), Pan."""

    def names(rows):
        return [[f"{action.name}{n or ''}" for action, n in row] for row in rows]

    assert names(layout(Surface.GRID)) == [
        ["pick1", "pick2", "pick3", "pick4", "reroll"],
        [f"vary{n}" for n in range(1, 5)],
    ]
    assert names(layout(Surface.GRID, draft=True))[2] == ["enhance"]
    square = names(layout(Surface.SINGLE, facts={"square"}, skip=frozenset({"favourite"})))
    assert square[1] == ["upscale_subtle", "upscale_creative", "animate_low", "animate_high"]
    assert square[2] == ["zoom_out_2", "zoom_out_1_5", "custom_zoom"]
    upscaled = names(layout(Surface.SINGLE, facts={"upscaled"}, skip=frozenset({"favourite"})))
    assert upscaled[1] == ["animate_low", "animate_high"]  # Animate keeps its row without Upscale
    assert upscaled[2] == ["zoom_out_2", "make_square", "custom_zoom"]
    assert web_buttons(Surface.GRID, draft=True)[2] == [
        {
            "action": "enhance",
            "index": 0,
            "text": "Enhance",
            "title": "Enhance (✨): this draft again at full quality, same seeds",
            "remix": False,
            "form": "",
        }
    ]


def test_the_cli_edit_operations_come_from_the_table():
    """`python -m bot edit` offers every single-image row with a cli name; Pan's four share one."""
    table = cli_actions()
    assert set(table) == {
        "vary-strong",
        "vary-subtle",
        "region",
        "upscale-subtle",
        "upscale-creative",
        "zoom",
        "remove-background",
        "smart-select",
        "square",
        "pan",
        "retexture",
        "instruct",
        "animate",
        "extend",
    }
    assert [action.mode for action in table["pan"]] == ["left", "right", "up", "down"]
    assert [action.mode for action in table["animate"]] == ["low", "high"]
    assert [action.mode for action in table["extend"]] == ["low", "high"]


def test_video_rows_animate_single_images_and_extend_clips():
    """Animate (Low/High motion) under one image, Extend (Low/High motion) and 🔄 under a clip;
    with Remix they ask for the motion prompt first; a video costs about 8 grids."""
    single = [
        action.text for row in layout(Surface.SINGLE, skip=frozenset({"favourite"})) for action, _ in row
    ]
    assert single[5:7] == ["Animate (Low motion)", "Animate (High motion)"]  # beside Upscale
    video = [action.text for row in layout(Surface.VIDEO) for action, _ in row]
    assert video == ["Extend (Low motion)", "Extend (High motion)", "🔄"]
    for name in ("animate_low", "animate_high", "extend_low", "extend_high"):
        action = resolve(name)
        assert action.remix and action.cost == 8.0 and action.mode == name.split("_")[1]
    assert resolve("anilow").kind is JobKind.ANIMATE and resolve("exthigh").kind is JobKind.EXTEND
