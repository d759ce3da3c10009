"""What /info shows, as plain text: durations, job lines, the lists of running and queued jobs."""

from __future__ import annotations

from bot.jobs.models import GpuUsage, Job

PROMPT_SHOWN = 60
JOBS_LISTED = 10
NO_JOBS = "None"


def duration(seconds: float) -> str:
    """GPU time the way Midjourney's /info reads: `42.0 seconds`, `3.50 minutes`, `1.25 hours`."""
    if seconds < 60:
        return f"{seconds:.1f} seconds"
    if seconds < 3600:
        return f"{seconds / 60:.2f} minutes"
    return f"{seconds / 3600:.2f} hours"


def usage_line(jobs: int, seconds: float) -> str:
    noun = "job" if jobs == 1 else "jobs"
    return f"{jobs} {noun} ({duration(seconds)})"


def job_line(job: Job, position: int | None = None) -> str:
    """`#2 · relax · **a red fox** · \\`<id>\\``: one waiting or running job of the user."""
    prompt = " ".join(job.prompt.split()).replace("*", "\\*") or "(no prompt)"
    if len(prompt) > PROMPT_SHOWN:
        prompt = prompt[: PROMPT_SHOWN - 1] + "…"
    place = f"#{position} · " if position is not None else ""
    return f"{place}{job.kind.value} · {job.speed} · **{prompt}** · `{job.id}`"


def job_list(lines: list[str]) -> str:
    """Up to JOBS_LISTED lines, then how many more (an embed field holds at most 1024 characters)."""
    if not lines:
        return NO_JOBS
    shown = lines[:JOBS_LISTED]
    if len(lines) > JOBS_LISTED:
        shown.append(f"…and {len(lines) - JOBS_LISTED} more")
    return "\n".join(shown)[:1024]


def usage_fields(usage: GpuUsage) -> list[tuple[str, str]]:
    """(name, value) of the GPU time fields: today (since 00:00 UTC) and lifetime."""
    return [
        ("GPU time today (UTC)", usage_line(usage.jobs_today, usage.seconds_today)),
        ("Lifetime usage", usage_line(usage.jobs_total, usage.seconds_total)),
    ]
