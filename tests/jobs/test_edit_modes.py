"""How zoom and pan modes read, and what they refuse (pure, no engine)."""

from __future__ import annotations

import pytest

from bot.errors import InvalidParameter
from bot.jobs.derive import parse_zoom_mode, zoom_position


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("2", (2.0, None)),
        ("1.5", (1.5, None)),
        ("1 16:9", (1.0, (16, 9))),
        ("square", (1.0, (1, 1))),
        ("1.2 9:16 0.25,1", (1.2, (9, 16))),
    ],
)
def test_zoom_modes(mode, expected):
    """Zoom Out 2x / 1.5x, Custom Zoom with a shape, Make Square."""
    assert parse_zoom_mode(mode) == expected


@pytest.mark.parametrize(
    "mode", ["2.5", "0.5", "", None, "two", "1.5 16:0", "1.5 9:1", "1.5 16x9", "1 16:9 0.5,0.5 more"]
)
def test_bad_zoom_modes_are_invalid_parameters(mode):
    """Outside 1–2, not a number, or a shape beyond 4:1: Invalid parameter."""
    with pytest.raises(InvalidParameter):
        parse_zoom_mode(mode)


def test_zoom_positions():
    """Reframe's third part places the picture (share of the free space); centred without one."""
    assert zoom_position("1.5 16:9") == (0.5, 0.5) and zoom_position("square") == (0.5, 0.5)
    assert zoom_position("1 16:9 0.25,1") == (0.25, 1.0)
    for bad in ("1 16:9 1.5,0", "1 16:9 a,b", "1 16:9 0.5"):
        with pytest.raises(InvalidParameter, match="Invalid position"):
            zoom_position(bad)
