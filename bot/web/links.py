"""Links into the web app: a job's page, and the signed, expiring editor link for Vary (Region).

Pure functions of the settings (plus the signing key, read or created on first use in DATA_DIR
when `WEB_SECRET` is empty); nothing here imports aiohttp, so the Discord side can build links
cheaply. An editor link carries the job, image index, member, expiry and a random nonce, signed
with HMAC-SHA256. The page handler checks the signature and expiry (`verify_editor_link`) and
makes the link single-use by recording its nonce (see `Repository.use_web_nonce`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.config import Config

__all__ = [
    "EDITOR_LINK_TTL",
    "EditorLink",
    "WebAddresses",
    "base_url",
    "editor_url",
    "job_url",
    "sign",
    "signing_key",
    "verify_editor_link",
]

# Seconds an editor link stays valid (Discord interaction tokens last 15 minutes; so does this).
EDITOR_LINK_TTL = 15 * 60
SECRET_FILE = "web_secret"


def base_url(config: Config) -> str:
    """Where users reach the web app: PUBLIC_URL, else the address it listens on."""
    if config.public_url:
        return config.public_url
    host = "127.0.0.1" if config.web_host in ("", "0.0.0.0", "::") else config.web_host
    return f"http://{host}:{config.web_port}"


def job_url(config: Config, job_id: str) -> str:
    """The job's page in the web app."""
    return f"{base_url(config)}/jobs/{job_id}"


def signing_key(config: Config) -> bytes:
    """WEB_SECRET, or a random key kept in DATA_DIR/web_secret (created on first use, mode 0600)."""
    if config.web_secret:
        return config.web_secret.encode()
    path = config.data_dir / SECRET_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def sign(key: bytes, *parts: object) -> str:
    """HMAC-SHA256 (hex) over the parts joined by '|' (parts never contain '|')."""
    message = "|".join(str(part) for part in parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class EditorLink:
    """The signed fields of an editor link, as they arrive in the page's query string."""

    job_id: str
    index: int
    user_id: int
    expires: int
    nonce: str
    signature: str


def editor_url(
    config: Config,
    *,
    job_id: str,
    index: int,
    user_id: int,
    ttl: int = EDITOR_LINK_TTL,
    now: float | None = None,
) -> str:
    """A signed, expiring, single-use link to the Vary (Region) editor for one image of a job."""
    expires = int((time.time() if now is None else now) + ttl)
    nonce = secrets.token_urlsafe(12)
    signature = sign(signing_key(config), "editor", job_id, index, user_id, expires, nonce)
    query = urlencode({"u": user_id, "e": expires, "n": nonce, "s": signature})
    return f"{base_url(config)}/edit/{job_id}/{index}?{query}"


def verify_editor_link(config: Config, link: EditorLink, *, now: float | None = None) -> bool:
    """True when the link was signed with our key and has not expired (single use is the caller's)."""
    if link.expires < (time.time() if now is None else now):
        return False
    expected = sign(
        signing_key(config), "editor", link.job_id, link.index, link.user_id, link.expires, link.nonce
    )
    return hmac.compare_digest(expected, link.signature)


class WebAddresses:
    """The web app's side of the `bot.jobs.ports.WebPages` port: links built from the settings."""

    def __init__(self, config: Config) -> None:
        self._config = config

    @property
    def public(self) -> bool:
        return bool(self._config.public_url)

    def job_url(self, job_id: str) -> str:
        return job_url(self._config, job_id)

    def editor_url(self, job_id: str, index: int, user_id: int) -> str:
        return editor_url(self._config, job_id=job_id, index=index, user_id=user_id)
