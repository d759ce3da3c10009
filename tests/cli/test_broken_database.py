"""A database that can't be opened ends start-up in one line naming the file and the problem,
exit 2, within seconds — for the bot and for `imagine` (no hanging aiosqlite thread)."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOUND_SECONDS = 10


def _garbage(data_dir: Path) -> str:
    (data_dir / "bot.sqlite3").write_bytes(b"this is not a database, just some text\n" * 200)
    return "not a database"


def _truncated(data_dir: Path) -> str:
    path = data_dir / "bot.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x TEXT)")
        db.executemany("INSERT INTO t VALUES (?)", [("x" * 500,) for _ in range(400)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return "malformed"


def _empty_header(data_dir: Path) -> str:
    (data_dir / "bot.sqlite3").write_bytes(b"SQLite format 3\0" + b"\xff" * 84)
    return "bot.sqlite3"


def _data_dir_is_a_file(data_dir: Path) -> str:
    data_dir.rmdir()
    data_dir.write_text("oops")
    return "DATA_DIR"


def _database_is_a_folder(data_dir: Path) -> str:
    (data_dir / "bot.sqlite3").mkdir()
    return "unable to open"


def _read_only_data_dir(data_dir: Path) -> str:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    data_dir.chmod(0o555)
    return "unable to open"


CASES: dict[str, Callable[[Path], str]] = {
    "garbage": _garbage,
    "bot.sqlite3 is a folder": _database_is_a_folder,
    "read-only DATA_DIR": _read_only_data_dir,
    "truncated": _truncated,
    "bad header": _empty_header,
    "DATA_DIR is a file": _data_dir_is_a_file,
}
COMMANDS = {"run": [], "imagine": ["imagine", "a cat", "-o", "out.png"]}
# Local mode: `python -m bot` with no DISCORD_TOKEN (the web app alone).
LOCAL = {"DISCORD_TOKEN": "", "WEB_PORT": "0"}


def _run(
    tmp_path: Path,
    args: list[str],
    preexec: Callable[[], None] | None = None,
    extra: dict[str, str] | None = None,
) -> tuple[int, str, float]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATA_DIR": str(tmp_path / "data"),
        "MODEL": "tiny",
        "DEVICE": "cpu",
        "DISCORD_TOKEN": "not-a-real-token",
        "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",
        **(extra or {}),
    }
    started = time.monotonic()
    try:
        run = subprocess.run(
            [sys.executable, "-m", "bot", "--env-file", str(tmp_path / "none.env"), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=BOUND_SECONDS,
            preexec_fn=preexec,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`python -m bot {' '.join(args)}` did not exit within {BOUND_SECONDS} s")
    return run.returncode, run.stderr, time.monotonic() - started


def _assert_one_line(code: int, stderr: str, *expected: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2, stderr
    assert len(lines) == 1, stderr
    for text in expected:
        assert text in lines[0], lines[0]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", CASES)
def test_a_broken_database_is_one_line_and_exit_2(tmp_path: Path, case: str, command: str) -> None:
    """Garbage, truncated, bad header, DATA_DIR a file: one line naming the problem, exit 2, < 10 s."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    expected = CASES[case](data_dir)
    code, stderr, _ = _run(tmp_path, COMMANDS[command])
    _assert_one_line(code, stderr, expected, str(data_dir))


@pytest.mark.parametrize("command", COMMANDS)
def test_a_locked_database_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    """Another process holding the database: `locked`, exit 2, within seconds."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    holder = sqlite3.connect(data_dir / "bot.sqlite3", isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        code, stderr, _ = _run(tmp_path, COMMANDS[command])
    finally:
        holder.close()
    _assert_one_line(code, stderr, "locked", "bot.sqlite3")


def _small_files() -> None:
    """In the child: files may not grow past 16 kB (writes fail with EFBIG, like a full disk)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))


@pytest.mark.parametrize("command", COMMANDS)
def test_a_full_disk_at_start_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    """No room to create the tables: one line naming the database, exit 2."""
    (tmp_path / "data").mkdir()
    code, stderr, _ = _run(tmp_path, COMMANDS[command], preexec=_small_files)
    _assert_one_line(code, stderr, "bot.sqlite3")


def test_parse_on_a_garbage_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """`parse --user-id` reading a garbage database: one line naming it, exit 2, no traceback."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    _garbage(data_dir)
    code, stderr, _ = _run(tmp_path, ["parse", "a cat", "--user-id", "5"])
    _assert_one_line(code, stderr, "not a database", "bot.sqlite3")


@pytest.mark.parametrize("case", ["bot.sqlite3 is a folder", "garbage"])
def test_local_mode_on_an_unopenable_database_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    """Local mode (no token) on a folder named bot.sqlite3: the one line, exit 2, and no thread
    traceback from aiosqlite's worker after it."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    expected = CASES[case](data_dir)
    code, stderr, _ = _run(tmp_path, [], extra={**LOCAL, "WEB_PORT": "18999"})
    _assert_one_line(code, stderr, expected, str(data_dir))
