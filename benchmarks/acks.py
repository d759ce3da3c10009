"""Acknowledgement latency under load: the real `python -m bot` against the local fake of
Discord (tests/wire), hit by many interactions at once.

1. Start the bot (tiny model, CPU, LOG_LEVEL=INFO as in production) against the fake's REST +
   gateway on 127.0.0.1, wait for it to log in; one /imagine makes a grid to click on.
2. Baseline: a few /imagine one at a time on the idle bot (each waits for its acknowledgement).
3. Load: `--busy` jobs are queued and the worker is seen running one (a progress percentage);
   then `--imagines` /imagine from as many members plus `--clicks` clicks on the grid's U/🔄/V
   buttons from other members are dispatched back to back (or evenly over `--spread` seconds).
   Their jobs queue behind; the GPU worker (the tiny model, a thread of the bot's process) keeps
   running while they are answered.
4. Print, per kind and in all: how many were acknowledged (exactly once / twice / never) and the
   time from the INTERACTION_CREATE frame leaving the fake to the callback reaching it — p50,
   p95, p99, max — and p99 / the idle median; and the machine's load average.

Usage: `PYTHONPATH=. python benchmarks/acks.py [--imagines 200] [--clicks 20] [--spread 0]`
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.engine.tiny import build_tiny_model  # noqa: E402
from tests.wire.bot_process import running_bot  # noqa: E402
from tests.wire.fake_discord import USER_ID, FakeDiscord, Recorded  # noqa: E402
from tests.wire.load import (  # noqa: E402
    Acknowledgement,
    acknowledgements,
    burst,
    first_grid,
    grid_buttons,
    percentile,
    wait_acknowledged,
)

SECONDS = 600


def _busy_progress(request: Recorded) -> bool:
    """A progress edit (a percentage) of one of the jobs that keep the worker busy."""
    content = str((request.json or {}).get("content") or "") if isinstance(request.json, dict) else ""
    return request.method == "PATCH" and "a busy river" in content and "%)" in content


def _row(name: str, acks: list[Acknowledgement]) -> str:
    latencies = [ack.latency for ack in acks if ack.latency is not None]
    once = sum(len(ack.callbacks) == 1 for ack in acks)
    twice = sum(len(ack.callbacks) > 1 for ack in acks)
    never = sum(not ack.callbacks for ack in acks)
    if not latencies:
        return f"{name:<10} {len(acks):>5} {once:>5} {twice:>5} {never:>5}"
    figures = [percentile(latencies, p) * 1000 for p in (0.5, 0.95, 0.99, 1.0)]
    return f"{name:<10} {len(acks):>5} {once:>5} {twice:>5} {never:>5} " + " ".join(
        f"{value:>8.0f}" for value in figures
    )


async def main(args: argparse.Namespace) -> None:
    models_dir = Path(os.environ.get("MODELS_DIR", ROOT / "models"))
    model_dir = build_tiny_model(models_dir / "tiny-sd")
    fake = FakeDiscord()
    await fake.start()
    work = Path(tempfile.mkdtemp(prefix="acks-"))
    settings = {"LOG_LEVEL": "INFO", "MAX_QUEUE": str(max(200, 2 * (args.imagines + args.clicks)))}
    load_before = os.getloadavg()
    try:
        async with running_bot(fake, model_dir, work, **settings) as (_, unless_it_exits):
            await unless_it_exits(fake.wait_for(lambda r: r.path.endswith("/commands"), SECONDS))
            await unless_it_exits(asyncio.wait_for(fake.identified.wait(), SECONDS))
            grid = await unless_it_exits(first_grid(fake, "a lighthouse", SECONDS))
            # 2. One at a time on the idle bot.
            idle = []
            for n in range(args.idle):
                one = [
                    fake.slash_command("imagine", user_id=USER_ID + 10_000 + n, prompt=f"a quiet boat {n}")
                ]
                sent = await burst(fake, one)
                await unless_it_exits(wait_acknowledged(fake, [one[0]["id"]], SECONDS))
                idle += acknowledgements(fake, one, sent)
                await asyncio.sleep(0.5)
            # 3. The GPU worker busy (as it is whenever members are waiting), then everything at once.
            for n in range(args.busy):
                await burst(
                    fake,
                    [fake.slash_command("imagine", user_id=USER_ID + 30_000 + n, prompt=f"a busy river {n}")],
                )
            if args.busy:
                await unless_it_exits(fake.wait_for(_busy_progress, SECONDS))
            buttons = [c for c in grid_buttons(grid) if c.split(":")[1] in ("pick", "vary", "reroll")]
            payloads = [
                fake.slash_command("imagine", user_id=USER_ID + 1 + n, prompt=f"a boat {n} --ar 3:2")
                for n in range(args.imagines)
            ]
            payloads += [
                fake.button_click(grid, buttons[n % len(buttons)], user_id=USER_ID + 20_000 + n)
                for n in range(args.clicks)
            ]
            load_start = os.getloadavg()
            started = time.perf_counter()
            sent = await burst(fake, payloads, spread=args.spread)
            dispatched = time.perf_counter() - started
            ids = [payload["id"] for payload in payloads]
            try:
                await unless_it_exits(wait_acknowledged(fake, ids, args.timeout))
            except TimeoutError:
                print(f"not every interaction was acknowledged within {args.timeout} s")
            await asyncio.sleep(2)  # a second callback would come right after the first
            load_end = os.getloadavg()
    finally:
        await fake.close()
    acks = acknowledgements(fake, payloads, sent)
    header = f"{'kind':<10} {'sent':>5} {'once':>5} {'twice':>5} {'never':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    print(f"machine: {os.cpu_count()} CPUs; load average (1, 5, 15 min) before start {load_before}")
    print(f"load average at the burst {load_start}, after it {load_end}")
    print(f"{len(payloads)} interactions dispatched in {dispatched * 1000:.0f} ms (spread {args.spread} s)")
    print(header)
    print(_row("idle", idle))
    for kind in sorted({ack.kind for ack in acks}):
        print(_row(kind, [ack for ack in acks if ack.kind == kind]))
    print(_row("all", acks))
    latencies = [ack.latency for ack in acks if ack.latency is not None]
    idle_latencies = [ack.latency for ack in idle if ack.latency is not None]
    if latencies and idle_latencies:
        ratio = percentile(latencies, 0.99) / percentile(idle_latencies, 0.5)
        print(
            f"p99 under load / idle median: {ratio:.1f}x; p99 {'<' if percentile(latencies, 0.99) < 1 else '>='} 1 s"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--imagines", type=int, default=200, help="simultaneous /imagine (default 200)")
    parser.add_argument("--clicks", type=int, default=20, help="simultaneous button clicks (default 20)")
    parser.add_argument(
        "--spread", type=float, default=0.0, help="dispatch over this many seconds (0: at once)"
    )
    parser.add_argument(
        "--busy", type=int, default=3, help="jobs running/queued before the burst (default 3)"
    )
    parser.add_argument("--idle", type=int, default=5, help="one-at-a-time /imagine first (default 5)")
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds to wait for every acknowledgement"
    )
    asyncio.run(main(parser.parse_args()))
