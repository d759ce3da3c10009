"""`python -m bot upscale`: any picture, enlarged by the chosen upscaler, exactly --scale times."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from bot.cli import main
from bot.engine.realesrgan import package_models_dir


def write_env(tmp_path: Path) -> Path:
    env = tmp_path / ".env"
    env.write_text(f"MODELS_DIR={tmp_path / 'models'}\nDATA_DIR={tmp_path / 'data'}\nDEVICE=cpu\n")
    return env


def test_upscale_with_lanczos_writes_the_enlarged_png(tmp_path, capsys):
    """--model lanczos, --scale 2: a 2x PNG, and a line naming sizes and the upscaler."""
    source = tmp_path / "in.png"
    Image.new("RGB", (20, 12), (10, 200, 30)).save(source)
    out = tmp_path / "out" / "big.png"
    code = main(
        [
            "--env-file",
            str(write_env(tmp_path)),
            "upscale",
            str(source),
            "--scale",
            "2",
            "--model",
            "lanczos",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    with Image.open(out) as written:
        assert written.size == (40, 24) and written.getpixel((5, 5)) == (10, 200, 30)
    assert "20x12 -> 40x24 with lanczos" in capsys.readouterr().out


@pytest.mark.skipif(package_models_dir() is None, reason="needs the realweights extra")
def test_upscale_with_a_real_esrgan_model(tmp_path, capsys):
    """A shipped Real-ESRGAN model (the small animevideov3) enlarges 4x by default."""
    source = tmp_path / "in.png"
    Image.radial_gradient("L").convert("RGB").resize((24, 16)).save(source)
    out = tmp_path / "big.png"
    code = main(
        [
            "--env-file",
            str(write_env(tmp_path)),
            "upscale",
            str(source),
            "--model",
            "realesr-animevideov3-x4",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    with Image.open(out) as written:
        assert written.size == (96, 64)
    assert "with realesr-animevideov3-x4" in capsys.readouterr().out


def test_an_unknown_model_or_file_is_a_one_line_error(tmp_path, capsys):
    """An UPSCALER name that is neither a model nor a file: exit 2 with the choices."""
    source = tmp_path / "in.png"
    Image.new("RGB", (8, 8)).save(source)
    code = main(
        [
            "--env-file",
            str(write_env(tmp_path)),
            "upscale",
            str(source),
            "--model",
            "nope",
            "-o",
            str(tmp_path / "o.png"),
        ]
    )
    assert code == 2
    assert "UPSCALER='nope' is not a model file" in capsys.readouterr().err
