"""The records of server and member rules (stored by bot/store, read by bot/governance)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "SPEEDS",
    "VARIATION_MODES",
    "BannedWord",
    "Erasure",
    "GuildRules",
    "Moodboard",
    "PersonalSettings",
    "StoredStyle",
]


VARIATION_MODES = ("strong", "subtle")
SPEEDS = ("fast", "relax")


@dataclass(frozen=True)
class PersonalSettings:
    """A member's `/settings` and `/prefer suffix`.

    `model` is a MODEL_ALIASES key (None: the default model); `stylize` is the --s value their
    level stands for (None: the default, 100, without saying so in every prompt).
    """

    user_id: int = 0
    remix: bool = False
    variation_mode: str = "strong"
    stylize: int | None = None
    raw: bool = False
    speed: str = "fast"
    model: str | None = None
    suffix: str = ""
    # Personalization on by default (`--p` added to every prompt) and its code ("" = own profile).
    personalize: bool = False
    profile: str = ""

    def __post_init__(self) -> None:
        # A bad value here is a bug in whoever built the record, not something a user typed.
        if self.variation_mode not in VARIATION_MODES:
            raise ValueError(f"variation_mode must be one of {VARIATION_MODES}, not {self.variation_mode!r}")
        if self.speed not in SPEEDS:
            raise ValueError(f"speed must be one of {SPEEDS}, not {self.speed!r}")
        if self.stylize is not None and not 0 <= self.stylize <= 1000:
            raise ValueError(f"stylize must be from 0 to 1000, not {self.stylize!r}")


@dataclass
class GuildRules:
    """What a server's admins set with /limits and /style default."""

    guild_id: int
    default_style: str | None = None
    max_jobs_per_user: int | None = None
    max_repeat: int | None = None
    allowed_channels: list[int] = field(default_factory=list)
    # Video jobs here: "allowed", "relax" (relax mode only) or "off" (governance/limits.py).
    video: str = "allowed"


@dataclass(frozen=True)
class BannedWord:
    """`guild_id` None means the word is banned everywhere."""

    id: int
    guild_id: int | None
    word: str
    added_by: int | None
    added_at: float
    removed_at: float | None = None
    # True: the guild lifted this word (a built-in one) instead of banning it.
    allowed: bool = False


@dataclass(frozen=True)
class Erasure:
    """An erase in progress (/forget-me: subject 'user_id'; /purge-guild: 'guild_id')."""

    subject: str
    subject_id: int
    requested_by: int | None
    channel_id: int | None
    requested_at: float


@dataclass(frozen=True)
class StoredStyle:
    """The rows behind a code: `vectors` is float32 bytes of (n, dim)."""

    code: str
    kind: str
    adapter: str
    dim: int
    vectors: bytes


@dataclass(frozen=True)
class Moodboard:
    """A member's named image set and the code of its embeddings ("" while empty)."""

    id: int
    owner_id: int
    name: str
    sources: tuple[str, ...]
    code: str
