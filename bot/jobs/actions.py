"""THE action table: every action a member can take on a job or an image, one row each.

Discord's job and prompt buttons (`bot/discord/buttons.py`, the `Actions` cog and its resumers),
the web's buttons and `POST /api/jobs/{id}/actions` (`bot/web/api.py`, the templates and the
page's script) and the CLI's `edit` subcommands are all read from `ACTIONS`. Adding an action is
one row here + one derive function in `bot/jobs/derive.py` (+ an engine branch when the operation
is new).

A row's `name` is stable; `discord` holds the names Discord custom ids (`mj:<name>:<job>:<n>`)
and recorded interactions use (the first is written today, all are read), `web` the names the web
API accepts. `resolve()` finds a row by any of them, so ids already posted and interactions
recorded by older versions keep working. Plain data: no discord, no aiohttp.
"""

from __future__ import annotations

from bot.jobs.action_types import Action, Form, Surface, Who
from bot.jobs.models import JobKind

__all__ = [
    "ACTIONS",
    "ENHANCE",
    "Action",
    "Form",
    "Surface",
    "Who",
    "actions_on",
    "cli_actions",
    "layout",
    "resolve",
    "web_buttons",
]

# The mode of a reroll that re-renders a --draft grid at full quality from the same seeds.
ENHANCE = "enhance"


# What a video job costs in GPU time, in image grids (Midjourney: about 8x; VIDEO_COST sets what
# it counts toward the waiting limits).
VIDEO_GRIDS = 8.0


def _motion(verb: str, motion: str, surface: Surface) -> Action:
    """Animate (Low/High motion) under one image, Extend (Low/High motion) under one clip."""
    kind = JobKind.ANIMATE if verb == "animate" else JobKind.EXTEND
    return Action(
        f"{verb}_{motion}",
        f"{verb.capitalize()} ({motion.capitalize()} motion)",
        "🎞️" if verb == "animate" else "⏩",
        surface,
        1 if surface is Surface.SINGLE else 0,  # beside Upscale (row 4 holds the editor, ❤️ and Web ↗)
        (f"{verb[:3]}{motion}",),
        kind=kind,
        mode=motion,
        remix=True,  # with Remix on: "Manual", the member writes the motion prompt
        cost=VIDEO_GRIDS,
        cli=verb,
        title=f"{verb.capitalize()} ({motion.capitalize()} motion): "
        + ("a short clip from this image" if verb == "animate" else "about 4 s more of this clip"),
    )


def _pan(direction: str, emoji: str) -> Action:
    return Action(
        f"pan_{direction}",
        None,
        emoji,
        Surface.SINGLE,
        3,
        (f"pan{direction}",),
        kind=JobKind.PAN,
        mode=direction,
        remix=True,
        cli="pan",
        title=f"Pan {direction}",
    )


ACTIONS: tuple[Action, ...] = (
    # ---- under a grid -------------------------------------------------------------------------
    Action("pick", "U", None, Surface.GRID, 0, ("pick",), numbered=True, marked=True, cost=0.0),
    Action(
        "reroll",
        None,
        "🔄",
        Surface.GRID,
        0,
        ("reroll",),
        kind=JobKind.REROLL,
        remix=True,
        title="Reroll (🔄)",
    ),
    Action(
        "vary",
        "V",
        None,
        Surface.GRID,
        1,
        ("vary",),
        ("variation",),
        kind=JobKind.VARIATION,
        remix=True,
        numbered=True,
        marked=True,
    ),
    Action(
        "enhance",
        "Enhance",
        "✨",
        Surface.GRID,
        2,
        ("enhance",),
        kind=JobKind.REROLL,
        mode=ENHANCE,
        drafts=True,
        title="Enhance (✨): this draft again at full quality, same seeds",
    ),
    # ---- under one image ------------------------------------------------------------------------
    Action(
        "vary_strong",
        "Vary (Strong)",
        "🪄",
        Surface.SINGLE,
        0,
        ("strong",),
        kind=JobKind.VARIATION,
        mode="strong",
        remix=True,
        cli="vary-strong",
    ),
    Action(
        "vary_subtle",
        "Vary (Subtle)",
        "🪄",
        Surface.SINGLE,
        0,
        ("subtle",),
        kind=JobKind.VARIATION,
        mode="subtle",
        remix=True,
        cli="vary-subtle",
    ),
    Action(
        "vary_region",
        "Vary (Region)",
        "🖌️",
        Surface.SINGLE,
        0,
        ("region",),
        kind=JobKind.REGION,
        remix=True,
        form=Form.REGION,
        cli="region",
    ),
    Action(
        "upscale_subtle",
        "Upscale (Subtle)",
        "⬆️",
        Surface.SINGLE,
        1,
        ("upsubtle",),
        kind=JobKind.UPSCALE,
        mode="subtle",
        refuses=frozenset({"upscaled"}),
        cost=2.0,
        cli="upscale-subtle",
    ),
    Action(
        "upscale_creative",
        "Upscale (Creative)",
        "⬆️",
        Surface.SINGLE,
        1,
        ("upcreative",),
        kind=JobKind.UPSCALE,
        mode="creative",
        refuses=frozenset({"upscaled"}),
        cost=2.0,
        cli="upscale-creative",
    ),
    Action(
        "zoom_out_2",
        "Zoom Out 2x",
        "🔍",
        Surface.SINGLE,
        2,
        ("zoomtwo",),
        kind=JobKind.ZOOM,
        mode="2",
        remix=True,
        cli="zoom",
    ),
    Action(
        "zoom_out_1_5",
        "Zoom Out 1.5x",
        "🔍",
        Surface.SINGLE,
        2,
        ("zoomonefive",),
        kind=JobKind.ZOOM,
        mode="1.5",
        remix=True,
        needs=frozenset({"square"}),
    ),
    Action(
        "make_square",
        "Make Square",
        "↔️",
        Surface.SINGLE,
        2,
        ("square",),
        kind=JobKind.ZOOM,
        mode="square",
        remix=True,
        refuses=frozenset({"square"}),
        cli="square",
    ),
    Action(
        "custom_zoom",
        "Custom Zoom",
        "🔍",
        Surface.SINGLE,
        2,
        ("zoomcustom",),
        kind=JobKind.ZOOM,
        form=Form.CUSTOM_ZOOM,
    ),
    _pan("left", "⬅️"),
    _pan("right", "➡️"),
    _pan("up", "⬆️"),
    _pan("down", "⬇️"),
    _motion("animate", "low", Surface.SINGLE),
    _motion("animate", "high", Surface.SINGLE),
    Action("favourite", None, "❤️", Surface.SINGLE, 4, ("fav",), cost=0.0, title="Favourite (❤️)"),
    # ---- the editor with a prompt: Retexture, Edit (bot/jobs/prompted_edits.py) -------------------
    Action(
        "retexture",
        "Retexture",
        "🎨",
        Surface.SINGLE,
        4,
        ("retexture",),
        kind=JobKind.RETEXTURE,
        form=Form.RETEXTURE,
        cli="retexture",
        title="Retexture: keep the composition, change the look with a prompt",
    ),
    Action(
        "instruct",
        "Edit",
        "✏️",
        Surface.SINGLE,
        4,
        ("instruct",),
        ("edit",),
        kind=JobKind.INSTRUCT,
        form=Form.INSTRUCT,
        cost=2.0,
        cli="instruct",
        title="Edit: change the image by an instruction",
    ),
    # ---- the editor (issue 22; bot/jobs/editor_jobs.py) -----------------------------------------
    Action(
        "remove_background",
        "Remove Background",
        "✂️",
        Surface.SINGLE,
        4,
        ("rembg",),
        kind=JobKind.BACKGROUND,
        cost=0.25,
        cli="remove-background",
        title="Remove Background: the picture with a transparent background",
    ),
    Action(
        "smart_select",
        "Smart Select",
        None,
        Surface.EDITOR,
        0,
        ("select",),
        kind=JobKind.SELECT,
        cost=0.1,
        cli="smart-select",
        title="Smart Select: click an object to select it",
    ),
    Action(
        "reframe",
        "Reframe",
        None,
        Surface.EDITOR,
        0,
        ("reframe",),
        kind=JobKind.ZOOM,
        remix=True,
        title="Reframe: the image placed on a canvas of another shape, the new area painted",
    ),
    # ---- under one clip of a video job ------------------------------------------------------------
    _motion("extend", "low", Surface.VIDEO),
    _motion("extend", "high", Surface.VIDEO),
    Action(
        "video_reroll",
        None,
        "🔄",
        Surface.VIDEO,
        0,
        ("vreroll",),
        kind=JobKind.REROLL,
        remix=True,
        cost=VIDEO_GRIDS,
        title="Reroll (🔄): the same video job again, new seeds",
    ),
    # ---- under a waiting or running job ---------------------------------------------------------
    Action(
        "cancel", None, "❌", Surface.PROGRESS, 0, ("cancel",), who=Who.OWNER, cost=0.0, title="Cancel (❌)"
    ),
    # ---- under /describe's suggestions and /shorten's shorter prompts ---------------------------
    Action(
        "describe_pick",
        None,
        None,
        Surface.DESCRIBE,
        0,
        ("suggest",),
        ("imagine",),
        kind=JobKind.IMAGINE,
        numbered=True,
    ),
    Action("redescribe", None, "🔄", Surface.DESCRIBE, 0, ("redescribe",), kind=JobKind.DESCRIBE, cost=0.1),
    Action(
        "describe_all",
        "Imagine all",
        None,
        Surface.DESCRIBE,
        1,
        ("suggestall",),
        ("all",),
        kind=JobKind.IMAGINE,
        cost=4.0,
    ),
    Action(
        "shorten_pick",
        None,
        None,
        Surface.SHORTEN,
        0,
        ("shortpick",),
        ("imagine",),
        kind=JobKind.IMAGINE,
        numbered=True,
    ),
)

_BY_NAME: dict[str, Action] = {action.name: action for action in ACTIONS}
_BY_DISCORD: dict[str, Action] = {alias: action for action in ACTIONS for alias in action.discord}


def _web_index() -> dict[str, Action]:
    """Web names of the job and image actions (the prompt buttons' web names are their own API's)."""
    index: dict[str, Action] = {}
    for action in ACTIONS:
        if action.surface in (Surface.DESCRIBE, Surface.SHORTEN):
            continue
        for alias in (action.name, *action.web):
            index[alias] = action
    return index


_BY_WEB = _web_index()


def resolve(name: str, *, front: str = "any") -> Action | None:
    """The action a name means: its stable name, a Discord custom-id name (`strong`, `upsubtle`,
    …, also as recorded in pending interactions) or a web name (`vary_strong`, `variation`, …).
    `front` "discord" or "web" limits the search to that front's names (and the stable names)."""
    if front in ("any", "discord") and name in _BY_DISCORD:
        return _BY_DISCORD[name]
    if front in ("any", "web") and name in _BY_WEB:
        return _BY_WEB[name]
    return _BY_NAME.get(name)


def actions_on(surface: Surface) -> list[Action]:
    """The actions of one surface, in the table's order."""
    return [action for action in ACTIONS if action.surface is surface]


def _shown(action: Action, facts: frozenset[str], draft: bool) -> bool:
    if action.drafts is True and not draft:
        return False
    if action.drafts is False and draft:
        return False
    return action.needs <= facts and not action.refuses & facts


def layout(
    surface: Surface,
    *,
    draft: bool = False,
    facts: frozenset[str] | set[str] = frozenset(),
    count: int = 4,
    skip: frozenset[str] = frozenset(),
) -> list[list[tuple[Action, int]]]:
    """The button rows of a surface: (action, image number) pairs; numbered actions get one button
    per image 1..`count`, others number 0 (or the image's number on SINGLE, filled in by the caller).

    `facts` about the image ("upscaled", "square") and `draft` (a --draft grid) pick the buttons
    that apply; `skip` leaves named actions out (a front that draws them itself)."""
    known = frozenset(facts)
    rows: dict[int, list[tuple[Action, int]]] = {}
    for action in actions_on(surface):
        if action.name in skip or not _shown(action, known, draft):
            continue
        numbers = range(1, count + 1) if action.numbered else (0,)
        rows.setdefault(action.row, []).extend((action, n) for n in numbers)
    return [rows[row] for row in sorted(rows)]


def cli_actions() -> dict[str, list[Action]]:
    """`python -m bot edit` subcommand → its actions (Pan's four share one; `--direction` picks)."""
    table: dict[str, list[Action]] = {}
    for action in ACTIONS:
        if action.cli is not None:
            table.setdefault(action.cli, []).append(action)
    return table


def web_buttons(
    surface: Surface,
    *,
    index: int = 0,
    draft: bool = False,
    facts: frozenset[str] | set[str] = frozenset(),
    count: int = 4,
    skip: frozenset[str] = frozenset({"favourite"}),
) -> list[list[dict[str, object]]]:
    """The web's button rows of a surface as JSON-ready dicts (the templates and app.js draw them):
    `action` (the name `POST /api/jobs/{id}/actions` takes), `index` (the image number, 0: none),
    `text`, `title`, `remix` (with Remix on, ask for the prompt first), `form`."""
    return [
        [
            {
                "action": action.web_name,
                "index": n or index,
                "text": f"{action.text}{n}" if action.numbered else action.text,
                "title": action.title or action.label or action.name,
                "remix": action.remix,
                "form": action.form.value if action.form is not None else "",
            }
            for action, n in row
        ]
        for row in layout(surface, draft=draft, facts=facts, count=count, skip=skip)
    ]
