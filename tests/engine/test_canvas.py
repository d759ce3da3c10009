"""Canvas geometry and masks for Zoom Out, Make Square, Pan and Vary (Region) (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bot.engine import canvas
from bot.engine.family import SD1, SDXL, TINY


@pytest.mark.parametrize("family", [TINY, SD1, SDXL])
def test_zoom_out_2x_of_a_square_puts_a_half_size_original_in_the_centre(family):
    """Zoom 2x: same native-size square canvas, the original at half size, centred."""
    layout = canvas.zoom_layout((family.native_size, family.native_size), 2.0, family)
    assert layout.size == (family.native_size, family.native_size)
    quarter, three_quarters = family.native_size // 4, 3 * family.native_size // 4
    assert layout.box == (quarter, quarter, three_quarters, three_quarters)


@pytest.mark.parametrize("family", [TINY, SD1, SDXL])
def test_zoom_keeps_the_aspect_ratio_and_the_native_area(family):
    """A 16:9 image zoomed 1.5x stays 16:9 (within 2%), within ±10% of the native area."""
    layout = canvas.zoom_layout((1344, 768), 1.5, family)
    assert abs(layout.width / layout.height / (16 / 9) - 1) < 0.02
    assert abs(layout.width * layout.height / family.native_area - 1) < 0.1
    box_width, box_height = layout.box_size
    assert abs(box_height / layout.height - 1 / 1.5) < 0.03
    assert abs(box_width / layout.width - 1 / 1.5) < 0.03


def test_make_square_of_a_wide_image_is_square_with_the_original_across():
    """Make Square of 16:9: a 1:1 canvas, the original spanning its whole width, centred."""
    layout = canvas.square_layout((1344, 768), SD1)
    assert layout.width == layout.height
    left, top, right, bottom = layout.box
    assert (left, right) == (0, layout.width)
    assert abs(top - (layout.height - bottom)) <= 1


def test_custom_zoom_with_an_aspect_changes_the_shape():
    """Custom Zoom --zoom 1 --ar 16:9 of a square: a wide canvas, the original full height."""
    layout = canvas.zoom_layout((512, 512), 1.0, SD1, (16, 9))
    assert abs(layout.width / layout.height / (16 / 9) - 1) < 0.02
    assert layout.box[1] == 0 and layout.box[3] == layout.height


def test_panning_left_twice_widens_each_time_until_the_cap():
    """Each ⬅️ pan gives a wider canvas with the original on the right; at 4:1 it stops."""
    size = (128, 128)
    widths = []
    for _ in range(8):
        layout = canvas.pan_layout(size, "left", TINY)
        if layout is None:
            break
        assert layout.box[2] == layout.width  # the original sits at the right edge
        widths.append(layout.width)
        size = layout.size
    assert widths == sorted(widths) and len(set(widths)) == len(widths) >= 3
    assert size[0] / size[1] <= canvas.MAX_PAN_RATIO * 1.05
    assert canvas.pan_layout(size, "left", TINY) is None


def test_pan_up_puts_the_original_at_the_bottom():
    """⬆️ grows the canvas upwards: taller than wide, the original at the bottom edge."""
    layout = canvas.pan_layout((128, 128), "up", TINY)
    assert layout.height > layout.width
    assert layout.box[3] == layout.height and layout.box[1] > 0


def test_feather_never_reaches_outside_the_mask():
    """Feathered masks are 0 wherever the hard mask is 0, and 255 deep inside it."""
    hard = canvas.cell_mask((128, 128), [5, 6])
    soft = np.asarray(canvas.feather(hard))
    inside = np.asarray(hard) == 255
    assert (soft[~inside] == 0).all()
    assert soft[48, 64] == 255
    assert soft[32, 64] < 128  # the edge ramps up


def test_cells_labels_and_summary():
    """Cell labels A1…D4 map to cells; the mask summary says how much and where."""
    assert canvas.cell_label(0) == "A1" and canvas.cell_label(15) == "D4"
    assert canvas.cells_of_labels(["b2", "A1", "A1"]) == [0, 5]
    with pytest.raises(ValueError):
        canvas.cells_of_labels(["E1"])
    mask = canvas.cell_mask((128, 128), [0])
    assert canvas.mask_summary(mask) == "6% box 0:0-32:32"


def test_prefill_is_not_black_and_keeps_the_original_in_the_box():
    """The new area starts from the edge colours plus noise; the box holds the scaled original."""
    original = Image.new("RGB", (64, 64), (200, 40, 40))
    layout = canvas.zoom_layout((64, 64), 2.0, TINY)
    filled = np.asarray(canvas.prefill(original, layout, seed=1)).astype(float)
    left, top, right, bottom = layout.box
    assert (filled[top:bottom, left:right] == (200, 40, 40)).all()
    border = filled[:top]
    assert abs(border[..., 0].mean() - 200) < 15 and border.std() > 5
