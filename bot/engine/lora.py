"""Per-job recipe changes on a loaded pipeline: LoRAs (diffusers + peft) and a sampler other than
the family's, applied for one job and removed after, so a job without them is unaffected and the
model's own weights never change (LoRAs are not fused)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.engine.lora_files import lora_path
from bot.engine.sampling import make_scheduler
from bot.errors import JobFailed

__all__ = ["job_loras", "job_sampler"]

log = logging.getLogger(__name__)


def _state_dict_or_repo(name: str, loras_dir: Path | None) -> Any:
    path = lora_path(name, loras_dir) if loras_dir is not None else None
    if path is not None:
        from safetensors.torch import load_file

        return load_file(path)
    if "/" in name:  # a Hugging Face repo id (DRAFT_LORA may name one)
        return name
    raise JobFailed(f"The LoRA `{name}` is not in {loras_dir or 'models/loras'} any more.")


@contextmanager
def job_loras(pipe: Any, loras: tuple[tuple[str, float], ...], loras_dir: Path | None) -> Iterator[None]:
    """Load `loras` (name, weight) into `pipe` for the duration; unload them after, even on error."""
    if not loras:
        yield
        return
    adapters: list[str] = []
    try:
        for number, (name, _weight) in enumerate(loras):
            adapter = f"job-{number}"
            try:
                pipe.load_lora_weights(_state_dict_or_repo(name, loras_dir), adapter_name=adapter)
            except JobFailed:
                raise
            except Exception as error:  # diffusers/peft raise many types for a LoRA that does not fit
                reason = " ".join(str(error).split())[:200] or type(error).__name__
                raise JobFailed(f"The LoRA `{name}` could not be applied to this model: {reason}") from None
            adapters.append(adapter)
        pipe.set_adapters(adapters, adapter_weights=[weight for _name, weight in loras])
        yield
    finally:
        if adapters:
            pipe.unload_lora_weights()


@contextmanager
def job_sampler(pipes: list[Any], sampler: str, default: str) -> Iterator[None]:
    """Run `pipes` with `sampler` (a name from engine/sampling.py) for the duration, when it is not
    the family's `default`; put their schedulers back after."""
    if not sampler or sampler == default:
        yield
        return
    previous = [pipe.scheduler for pipe in pipes]
    scheduler = make_scheduler(sampler, previous[0].config)
    for pipe in pipes:
        pipe.scheduler = scheduler
    try:
        yield
    finally:
        for pipe, original in zip(pipes, previous, strict=True):
            pipe.scheduler = original
