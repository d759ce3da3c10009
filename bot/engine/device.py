"""Where the model runs: the device and dtype chosen from `DEVICE`, and quiet libraries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["pick_device", "quiet_libraries"]


def pick_device(requested: str) -> tuple[torch.device, torch.dtype]:
    """The device and dtype to run on: CUDA fp16, MPS fp16, or CPU fp32."""
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            requested = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            requested = "mps"
        else:
            requested = "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "DEVICE='cuda' but PyTorch sees no CUDA GPU (is the CUDA build of torch installed?)"
        )
    if requested == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("DEVICE='mps' but this PyTorch has no Apple MPS support")
    dtype = torch.float32 if requested == "cpu" else torch.float16
    return torch.device(requested), dtype


def quiet_libraries() -> None:
    """Progress bars and optional-backend notices from the libraries are noise in a bot's log."""
    import diffusers.utils.logging as diffusers_logging
    import transformers.utils.logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    diffusers_logging.set_verbosity_error()
