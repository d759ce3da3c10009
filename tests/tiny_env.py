"""The environment of a bot on the tiny model, shared by in-process and subprocess tests."""

from __future__ import annotations

from pathlib import Path


def tiny_env(tiny_model_dir: Path, data_dir: Path, **extra: str) -> dict[str, str]:
    """Settings variables for MODEL=tiny on CPU: few steps, progress at once, short shutdown."""
    return {
        "MODEL": "tiny",
        "MODELS_DIR": str(tiny_model_dir.parent),
        "DATA_DIR": str(data_dir),
        "DEVICE": "cpu",
        "STEPS": "2",
        "PROGRESS_INTERVAL": "0",
        "SHUTDOWN_GRACE": "5",
        # The real upscaler has its own tests (tests/engine/test_realesrgan.py); jobs here stay fast.
        "UPSCALER": "lanczos",
        **extra,
    }
