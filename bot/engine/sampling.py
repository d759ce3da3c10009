"""Samplers (diffusers schedulers) by name: each family's own, and the ones draft LoRAs need.

| name             | scheduler                                   | for                                  |
|------------------|---------------------------------------------|--------------------------------------|
| `dpmpp-2m-karras`| DPMSolverMultistep, Karras sigmas           | SD 1.x / 2.x / SDXL                  |
| `euler-trailing` | Euler, trailing timestep spacing            | turbo / lightning models and LoRAs   |
| `lcm`            | LCMScheduler                                | LCM-LoRA drafts                      |
| `flow-euler`     | FlowMatchEulerDiscrete (the model's shift)  | SD 3.x and FLUX.1 (flow matching)    |
"""

from __future__ import annotations

from typing import Any

from bot.engine.family import ModelFamily

__all__ = ["SAMPLER_LABELS", "family_sampler", "make_scheduler"]

# A1111's names, for the PNG metadata.
SAMPLER_LABELS = {
    "dpmpp-2m-karras": "DPM++ 2M Karras",
    "euler-trailing": "Euler (trailing)",
    "lcm": "LCM",
    "flow-euler": "Euler (flow match)",
}


def family_sampler(family: ModelFamily) -> str:
    """The sampler a family runs by default."""
    if family.is_flow:
        return "flow-euler"
    return "euler-trailing" if family.distilled else "dpmpp-2m-karras"


def make_scheduler(name: str, config: Any) -> Any:
    """A fresh scheduler `name` built from a pipeline's scheduler config (its betas and timesteps)."""
    from diffusers import DPMSolverMultistepScheduler, EulerDiscreteScheduler, LCMScheduler

    if name == "dpmpp-2m-karras":
        return DPMSolverMultistepScheduler.from_config(config, use_karras_sigmas=True)
    if name == "euler-trailing":
        return EulerDiscreteScheduler.from_config(
            config, timestep_spacing="trailing", use_karras_sigmas=False
        )
    if name == "flow-euler":
        from diffusers import FlowMatchEulerDiscreteScheduler

        return FlowMatchEulerDiscreteScheduler.from_config(config)
    if name == "lcm":
        return LCMScheduler.from_config(config, use_karras_sigmas=False)
    raise ValueError(f"unknown sampler {name!r}: expected one of {', '.join(SAMPLER_LABELS)}")
