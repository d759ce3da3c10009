"""Progress previews: a tiny VAE decoder (AutoencoderTiny, built in code) from models/vae-approx/
when present, the latent-RGB projection otherwise; a broken decoder never fails the job."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Config
from bot.engine import preview
from bot.engine.family import SDXL, TINY
from bot.engine.interface import Operation
from bot.engine.preview import TinyPreviewDecoder, find_preview_decoder
from bot.engine.request import GenerationRequest, StepProgress
from bot.grid import render_grid
from bot.jobs.execution import WorkDone, WorkOrder, run_order


def build_tiny_taesd(folder: Path) -> Path:
    """An AutoencoderTiny with TAESD's layout at 8 channels (random weights), saved like TAESD."""
    import torch
    from diffusers import AutoencoderTiny

    torch.manual_seed(4)
    AutoencoderTiny(
        encoder_block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        num_encoder_blocks=(1, 1, 1, 1),
        num_decoder_blocks=(1, 1, 1, 1),
    ).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def taesd_engine(tiny_settings: Config, tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A tiny engine whose models/vae-approx/taesd holds a tiny AutoencoderTiny."""
    from bot.engine.loader import load_engine

    models = tmp_path_factory.mktemp("models")
    (models / "tiny-sd").symlink_to(tiny_model_dir)
    build_tiny_taesd(models / "vae-approx" / "taesd")
    return load_engine(replace(tiny_settings, models_dir=models))


REQUEST = GenerationRequest(prompt="a red fox", width=128, height=128, seed=2, steps=2)


def _previews(engine) -> list:
    order = WorkOrder(job_id="j", operation=Operation.TXT2IMG, request=REQUEST, progress_interval=0.0)
    events: list = []
    outcome = run_order(engine, order, threading.Event(), events.append)
    assert isinstance(outcome, WorkDone)
    return [event.preview for event in events]


def test_the_tiny_decoder_is_found_per_architecture(tmp_path: Path):
    """models/vae-approx/taesd serves SD 1.x/2.x (and the tiny model); SDXL wants taesdxl."""
    build_tiny_taesd(tmp_path / "vae-approx" / "taesd")
    assert find_preview_decoder(tmp_path, TINY) == tmp_path / "vae-approx" / "taesd"
    assert find_preview_decoder(tmp_path, SDXL) is None


def test_previews_come_from_the_tiny_decoder_when_present(taesd_engine, monkeypatch: pytest.MonkeyPatch):
    """With TAESD the preview is the decoder's picture at full tile size (128 px a tile)."""
    monkeypatch.setattr(preview, "PREVIEW_BUDGET", 1.0)  # back-to-back steps: no budget to keep here
    assert taesd_engine.preview_decoder is not None
    previews = _previews(taesd_engine)
    assert len(previews) == 2
    assert all(preview.size == (256, 256) for preview in previews)
    seen: list[StepProgress] = []
    taesd_engine.txt2img(replace(REQUEST, steps=1), seen.append)
    assert seen[0].render is not None
    pictures = seen[0].render()
    assert len(pictures) == REQUEST.batch_size
    assert render_grid(pictures).tobytes() == taesd_engine.preview_decoder(seen[0].latents).tobytes()


def test_previews_fall_back_to_the_latent_projection(tiny_engine):
    """Without a tiny decoder, the preview is the latents projected to RGB (one pixel per latent)."""
    assert tiny_engine.preview_decoder is None
    assert [preview.size for preview in _previews(tiny_engine)] == [(32, 32), (32, 32)]


def test_a_failing_decoder_leaves_the_job_alone(taesd_engine, monkeypatch: pytest.MonkeyPatch):
    """A preview that raises is logged once and dropped; the job still finishes."""

    def broken(latents):
        raise RuntimeError("decoder exploded")

    monkeypatch.setattr(taesd_engine.preview_decoder, "images", broken)
    assert _previews(taesd_engine) == [None, None]


def test_the_decoder_keeps_to_its_time_budget(tmp_path: Path, tiny_engine):
    """Decodes over 2% of the time between previews shrink the preview (side 32 → 16 → 8), then
    hand over to the latent projection; with time to spare it stays at full size."""
    import time

    import torch

    decoder = TinyPreviewDecoder.load(
        build_tiny_taesd(tmp_path / "taesd"), torch.device("cpu"), torch.float32
    )
    latents = torch.randn(2, 4, 64, 64)
    for _ in range(3):
        decoder._last_call = time.perf_counter() - 3600  # an hour between previews: any cost is fine
        assert decoder(latents).size == (512, 256)
    assert (decoder.side, decoder.affordable) == (32, True)
    sizes = [decoder(latents).size for _ in range(4)]  # back to back: always over budget
    assert sizes == [(512, 256), (256, 128), (128, 64), (128, 64)]
    assert (decoder.side, decoder.affordable) == (8, False)
    seen: list[StepProgress] = []
    tiny_engine.preview_decoder = decoder
    try:
        tiny_engine.txt2img(replace(REQUEST, steps=1), seen.append)
    finally:
        tiny_engine.preview_decoder = None
    assert seen[0].render is None
