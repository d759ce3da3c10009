"""Starting the web app: beside the Discord bot (`start_beside_bot`), or alone in local mode
(`serve_local`, what `python -m bot` does when DISCORD_TOKEN is empty).

Local mode is the front door for a newcomer: one local user, no sign-in (unless the operator set
up Discord OAuth2), listening on 127.0.0.1 only, the URL printed on start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.config import Config
from bot.errors import ConfigError
from bot.jobs.models import Job, JobImage
from bot.jobs.service import JobService
from bot.web.app import WebServer
from bot.web.context import ChannelPoster, WebContext
from bot.web.sessions import LocalUser

__all__ = ["WEB_DELIVERY", "register_web_delivery", "serve_local", "start_beside_bot"]

log = logging.getLogger(__name__)

WEB_DELIVERY = "web"
LOCAL_HOST = "127.0.0.1"


async def _shown_on_the_web(_job: Job, _images: list[JobImage]) -> None:
    """The web app shows finished jobs from the database: nothing to post."""


def register_web_delivery(jobs: JobService) -> None:
    """Mark finished jobs as delivered to the web (so a bot without Discord does not keep them pending)."""
    jobs.add_delivery_handler(_shown_on_the_web, name=WEB_DELIVERY)


async def start_beside_bot(
    settings: Config, jobs: JobService, channels: ChannelPoster | None = None
) -> WebServer | None:
    """Start the web app next to the Discord bot; None when WEB_PORT=0 or the port is taken
    (the bot runs on without it: Discord is the main front there)."""
    if settings.web_port == 0:
        return None
    server = WebServer(WebContext.create(settings, jobs, channels=channels))
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


async def serve_local(settings: Config) -> None:
    """Local mode: the job service and the web app, no Discord, until SIGTERM / Ctrl+C."""
    from bot.wiring import open_job_service

    if settings.web_port == 0:
        raise ConfigError("DISCORD_TOKEN is empty and WEB_PORT=0: nothing to run. Set one of them.")
    signed_in = bool(settings.discord_client_id and settings.discord_client_secret)
    host = settings.web_host if signed_in else LOCAL_HOST
    if host != settings.web_host:
        log.info(
            "local mode without Discord sign-in listens on %s only (WEB_HOST=%s ignored)",
            host,
            settings.web_host,
        )
    jobs = await open_job_service(settings)
    register_web_delivery(jobs)
    context = WebContext.create(settings, jobs, local_user=None if signed_in else LocalUser())
    server = WebServer(context, host=host)
    try:
        url = await server.start()
    except OSError as error:
        await jobs.repository.close()
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
        await jobs.repository.close()
