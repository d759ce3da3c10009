"""The vocabulary of the action table (bot/jobs/actions.py): where a button appears (`Surface`), who
may use it (`Who`), the form it opens first (`Form`) and one row (`Action`). Plain data."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.jobs.models import JobKind

__all__ = ["Action", "Form", "Surface", "Who"]


class Surface(StrEnum):
    """Where an action's button appears."""

    GRID = "grid"  # under a 2x2 grid
    SINGLE = "single"  # under one image (U-n, an upscale, a zoom …)
    DESCRIBE = "describe"  # under /describe's suggestions
    SHORTEN = "shorten"  # under /shorten's shorter prompts
    PROGRESS = "progress"  # under a waiting or running job
    EDITOR = "editor"  # a tool of the editor (web, CLI), no button under a message
    VIDEO = "video"  # under one clip of a video job


class Who(StrEnum):
    """Who may use it."""

    ANYONE = "anyone"  # anyone who sees the message (web: the job's owner); the clicker owns the new job
    OWNER = "owner"  # only the job's owner


class Form(StrEnum):
    """The form an action opens before any job is made (its value: the recorded interaction's
    command, `bot.resumers[...]`, when the form is sent)."""

    CUSTOM_ZOOM = "customzoom"  # prompt, --ar and --zoom
    REGION = "region"  # the area to repaint (Discord: cell picker; web: the region editor)
    RETEXTURE = "retexture"  # the new look's prompt
    INSTRUCT = "instruct"  # the instruction (what to change)


@dataclass(frozen=True)
class Action:
    """One action. `kind` None: it makes no job of the parent's kind (a pick, ❤️, ❌, a prompt
    button's imagine). `mode` None on a VARIATION: the member's /settings variation mode."""

    name: str
    label: str | None
    emoji: str | None
    surface: Surface
    row: int  # the button row on its surface
    discord: tuple[str, ...]  # custom-id names: the first is written, all are read
    web: tuple[str, ...] = ()  # web API names (besides `name`)
    kind: JobKind | None = None
    mode: str | None = None
    who: Who = Who.ANYONE
    remix: bool = False  # with Remix on, the prompt is asked first
    form: Form | None = None
    numbered: bool = False  # one button per image: U1-U4, V1-V4, 1️⃣-5️⃣
    marked: bool = False  # turns green once used (U, V)
    drafts: bool | None = None  # None: any grid; True: only --draft grids; False: never on drafts
    needs: frozenset[str] = frozenset()  # facts the image must have ("square")
    refuses: frozenset[str] = frozenset()  # facts that hide it ("upscaled", "square")
    cost: float = 1.0  # GPU time, in grids (0: none)
    cli: str | None = None  # `python -m bot edit <cli>` (several rows may share one, by mode)
    title: str | None = None  # the web's tooltip

    @property
    def custom_id_name(self) -> str:
        """The name written into new Discord custom ids."""
        return self.discord[0]

    @property
    def web_name(self) -> str:
        """The name the web's pages send (its first web alias, else the stable name)."""
        return self.web[0] if self.web else self.name

    @property
    def text(self) -> str:
        """The button's words (or its emoji when it has none)."""
        return self.label or self.emoji or self.name
