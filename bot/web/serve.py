"""Starting the web app: beside the Discord bot (`start_beside_bot`), or alone in local mode
(`serve_local`, what `python -m bot` does when DISCORD_TOKEN is empty).

Local mode is the front door for a newcomer: one local user, no sign-in (unless the operator set
up Discord OAuth2), listening on 127.0.0.1 only, the URL printed on start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path

from bot.config import Config
from bot.errors import ConfigError
from bot.jobs.models import Job, JobImage
from bot.jobs.ports import ChannelPoster
from bot.jobs.service import JobService
from bot.services import Services
from bot.web.app import WebServer
from bot.web.context import WebContext
from bot.web.sessions import LocalUser

__all__ = [
    "WEB_DELIVERY",
    "local_bind",
    "register_web_delivery",
    "running_in_container",
    "serve_local",
    "start_beside_bot",
]

log = logging.getLogger(__name__)

WEB_DELIVERY = "web"
LOCAL_HOST = "127.0.0.1"
ANY_ADDRESS = ("0.0.0.0", "::", "")


async def _shown_on_the_web(_job: Job, _images: list[JobImage]) -> None:
    """The web app shows finished jobs from the database: nothing to post."""


def register_web_delivery(jobs: JobService) -> None:
    """Mark finished jobs as delivered to the web (so a bot without Discord does not keep them pending)."""
    jobs.add_delivery_handler(_shown_on_the_web, name=WEB_DELIVERY)


async def start_beside_bot(
    settings: Config, services: Services, channels: ChannelPoster | None = None
) -> WebServer | None:
    """Start the web app next to the Discord bot; None when WEB_PORT=0 or the port is taken
    (the bot runs on without it: Discord is the main front there)."""
    if settings.web_port == 0:
        return None
    server = WebServer(WebContext.create(settings, services.jobs, channels=channels, services=services))
    try:
        url = await server.start()
    except OSError as error:
        log.warning(
            "the web app cannot listen on %s:%s (%s); running without it",
            settings.web_host,
            settings.web_port,
            error,
        )
        return None
    log.info("web app on %s (public address: %s)", url, settings.public_url or "PUBLIC_URL not set")
    return server


def running_in_container() -> bool:
    """Docker (`/.dockerenv`) or Podman (`container=` in the environment)."""
    return Path("/.dockerenv").exists() or bool(os.environ.get("container"))  # noqa: SIM112 (Podman spells it so)


def local_bind(settings: Config, *, signed_in: bool, in_container: bool) -> tuple[str, str | None]:
    """The address local mode listens on, and what to tell the operator about it (or None).

    Without sign-in the app is the one local user's: it listens on 127.0.0.1 only, whatever
    WEB_HOST says — except inside a container, where 127.0.0.1 is the container's own and the
    published port would answer nothing: there it listens on WEB_HOST, and the compose file
    publishes the port on the host's loopback only. The Host check (bot/web/guards.py) answers
    loopback names only either way."""
    if signed_in or settings.web_host == LOCAL_HOST:
        return settings.web_host, None
    if in_container and settings.web_host in ANY_ADDRESS:
        return settings.web_host, (
            f"Local mode in a container: listening on {settings.web_host}:{settings.web_port} inside it. "
            "Publish the port on the host's loopback only (127.0.0.1:8080:8080): there is no sign-in."
        )
    return LOCAL_HOST, (
        f"Local mode has no sign-in, so it listens on {LOCAL_HOST} only: WEB_HOST={settings.web_host} "
        "is ignored. To serve other machines, set up sign-in (DISCORD_CLIENT_ID, DISCORD_CLIENT_SECRET)."
    )


async def serve_local(settings: Config, services: Services) -> None:
    """Local mode: the job service and the web app, no Discord, until SIGTERM / Ctrl+C (the
    caller, bot/app.py, opened the services and closes them)."""
    if settings.web_port == 0:
        raise ConfigError("DISCORD_TOKEN is empty and WEB_PORT=0: nothing to run. Set one of them.")
    signed_in = bool(settings.discord_client_id and settings.discord_client_secret)
    host, notice = local_bind(settings, signed_in=signed_in, in_container=running_in_container())
    if notice:
        print(notice, flush=True)
    jobs = services.jobs
    register_web_delivery(jobs)
    context = WebContext.create(
        settings, jobs, local_user=None if signed_in else LocalUser(), services=services
    )
    server = WebServer(context, host=host)
    try:
        url = await server.start()
    except OSError as error:
        raise ConfigError(
            f"the web app cannot listen on {host}:{settings.web_port}: {error.strerror or error}"
        ) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    print(f"Web app: {url}  (open it in your browser)", flush=True)
    print("Discord is off until DISCORD_TOKEN is set in .env; the web app runs alone.", flush=True)
    started = False
    try:
        print(f"Loading the model ({settings.model}) ...", flush=True)
        try:
            await jobs.start()
            started = True
        except ConfigError as error:
            # The front door stays open: the page says what is wrong and how to fix it.
            context.model_error = str(error)
            print(f"error: {error}", flush=True)
            print(
                "The web app stays up and shows this; set MODEL in .env (MODEL=tiny runs offline) and restart.",
                flush=True,
            )
        if started and jobs.family.name == "tiny":
            print("MODEL is the embedded tiny test model: its images are noise.", flush=True)
        print("Ready." if started else "Ready (without a model).", flush=True)
        await stop.wait()
    finally:
        await server.stop()
        if started:
            await jobs.stop()
