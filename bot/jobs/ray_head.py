"""The one-box Ray cluster (`BACKEND=ray` without `RAY_ADDRESS`): a head on the loopback address,
started by the bot and stopped when it stops.

`ray.init(address="local", _node_ip_address="127.0.0.1")` still registers the node on the
machine's other address, and the driver then fails to reach GCS within 60 s; a head started with
`ray start --head --node-ip-address=127.0.0.1` works. So the bot starts exactly that, in its own
process session, connects to it, and at the end ends every process of that session (never
another cluster's: `ray stop` would end every Ray process of the machine).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.errors import ConfigError

__all__ = ["LOOPBACK", "LocalHead"]

LOOPBACK = "127.0.0.1"
# Ray's own switches for a private one-box cluster (no token auth, no usage report).
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _session_pids(session: int) -> list[int]:
    """Every process of `session` (Ray's workers start their own process groups, not sessions)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[3]) == session:  # after the name: state ppid pgrp session
                    pids.append(int(entry.name))
    return pids


class LocalHead:
    """A Ray head on 127.0.0.1 in its own session; `address` to connect to, `stop()` ends it."""

    def __init__(self, process: subprocess.Popen[bytes], address: str, temp_dir: Path, log: Path) -> None:
        self.process = process
        self.address = address
        self.temp_dir = temp_dir
        self.log = log

    @classmethod
    def start(cls, timeout: float = 120.0) -> LocalHead:
        """Start the head and wait until it listens; ConfigError (one line) if it does not."""
        for name, value in RAY_ENV.items():
            os.environ.setdefault(name, value)  # the driver must speak the head's language
        port = _free_port()
        # Ray's socket paths must stay short: a folder directly under /tmp.
        temp_dir = Path(tempfile.mkdtemp(prefix="ray-bot-", dir="/tmp"))
        log = temp_dir / "head.log"
        ray = Path(sys.executable).parent / "ray"
        command = [
            str(ray) if ray.exists() else "ray",
            "start",
            "--head",
            "--block",
            f"--node-ip-address={LOOPBACK}",
            f"--port={port}",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp_dir}",
        ]
        with log.open("wb") as output:
            process = subprocess.Popen(
                command,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=os.environ.copy(),
            )
        head = cls(process, f"{LOOPBACK}:{port}", temp_dir, log)
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=1):
                return head
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
                head.stop()
                raise ConfigError(f"BACKEND='ray': the local Ray head did not start: {tail[0]}")
            time.sleep(0.2)

    def stop(self) -> None:
        """End every process of the head's session, then remove its folder."""
        session = self.process.pid
        for pid in _session_pids(session) or [session]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(30)
        import shutil

        shutil.rmtree(self.temp_dir, ignore_errors=True)
