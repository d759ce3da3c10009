"""The parsers of setting values (bot/config.py): each takes the environment's text and returns the
value or raises ValueError with what the setting expects."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")  # upper case, as logging spells them

__all__ = [
    "LOG_LEVELS",
    "aliases",
    "boolean",
    "choice",
    "number",
    "optional_whole",
    "path",
    "ray_address",
    "shards",
    "text",
    "url",
    "user_ids",
    "whole",
]


def text(value: str) -> str:
    return value.strip()


def url(value: str) -> str:
    value = value.strip().rstrip("/")
    if not value.startswith(("http://", "https://", "ws://", "wss://")):
        raise ValueError("a URL starting with http(s):// or ws(s)://")
    return value


def path(value: str) -> Path:
    if not value.strip():
        raise ValueError("a folder path")
    return Path(value.strip()).expanduser()


def choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        lowered = value.strip().lower() if options != LOG_LEVELS else value.strip().upper()
        if lowered not in options:
            raise ValueError("one of " + ", ".join(options))
        return lowered

    return parse


def whole(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            raise ValueError(f"a whole number from {low} to {high}") from None
        if not low <= number <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return number

    return parse


def number(low: float, high: float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"a number from {low:g} to {high:g}") from None
        if not low <= number <= high:
            raise ValueError(f"a number from {low:g} to {high:g}")
        return number

    return parse


def optional_whole(low: int, high: int) -> Callable[[str], int | None]:
    inner = whole(low, high)

    def parse(value: str) -> int | None:
        return inner(value) if value.strip() else None

    return parse


def ray_address(value: str) -> str:
    value = value.strip()
    if value and value != "auto" and not value.startswith("ray://") and ":" not in value:
        raise ValueError("empty (start a local cluster), 'auto', 'ray://host:10001' or 'host:6379'")
    return value


def shards(value: str) -> str:
    value = value.strip().lower()
    if value in ("off", "auto") or (value.isdigit() and 1 <= int(value) <= 4096):
        return value
    raise ValueError("off, auto or a number of shards from 1 to 4096")


def boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("true or false")


def aliases(value: str) -> dict[str, str]:
    """`niji=models/checkpoints/anime.safetensors,6=stabilityai/sdxl` → {"niji": ..., "6": ...}."""
    aliases: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, sep, model = item.partition("=")
        if not sep or not name.strip() or not model.strip():
            raise ValueError("comma-separated name=model pairs, e.g. niji=my/anime-model")
        aliases[name.strip().lower()] = model.strip()
    return aliases


def user_ids(value: str) -> frozenset[int]:
    """`111, 222` → {111, 222} (Discord user ids, comma- or space-separated)."""
    ids = set()
    for item in value.replace(",", " ").split():
        if not item.isdigit() or len(item) > 20:
            raise ValueError("Discord user ids (numbers) separated by commas")
        ids.add(int(item))
    return frozenset(ids)
