"""Image sizes from `--ar`: the ratio within 2%, the model's native area within ±10%, on its grid."""

from __future__ import annotations

import pytest

from bot.engine.family import SD1, SD2, SDXL, TINY, ModelFamily
from bot.prompt import PromptContext, expand_prompt
from bot.prompt.sizes import size_for_aspect

COMMON_RATIOS = [
    (1, 1),
    (5, 4),
    (4, 5),
    (4, 3),
    (3, 4),
    (3, 2),
    (2, 3),
    (16, 10),
    (10, 16),
    (5, 3),
    (3, 5),
    (16, 9),
    (9, 16),
    (7, 4),
    (4, 7),
    (2, 1),
    (1, 2),
    (21, 9),
    (9, 21),
    (3, 1),
]
REAL_FAMILIES = [SD1, SD2, SDXL]


@pytest.mark.parametrize("family", REAL_FAMILIES, ids=lambda family: family.name)
@pytest.mark.parametrize("ratio", COMMON_RATIOS, ids=lambda ratio: f"{ratio[0]}:{ratio[1]}")
def test_common_ratios_keep_ratio_and_native_area(family: ModelFamily, ratio: tuple[int, int]) -> None:
    """Each of 20 common ratios: within 2% of the ratio, ±10% of the native area, multiples of 32/8."""
    request = expand_prompt(f"a cat --ar {ratio[0]}:{ratio[1]}", PromptContext(family=family))[0]
    width, height = request.width, request.height
    assert abs(width / height / (ratio[0] / ratio[1]) - 1) <= 0.02
    assert abs(width * height / family.native_area - 1) <= 0.10
    assert width % min(family.multiple, 32) == 0 and height % min(family.multiple, 32) == 0


@pytest.mark.parametrize(
    ("family", "ratio", "size"),
    [
        (SDXL, (1, 1), (1024, 1024)),
        (SDXL, (16, 9), (1344, 768)),
        (SDXL, (9, 16), (768, 1344)),
        (SDXL, (3, 2), (1248, 832)),
        (SD1, (1, 1), (512, 512)),
        (SD1, (3, 2), (624, 416)),
        (SD2, (1, 1), (768, 768)),
        (TINY, (1, 1), (128, 128)),
        (TINY, (2, 1), (176, 88)),
    ],
)
def test_known_sizes(family: ModelFamily, ratio: tuple[int, int], size: tuple[int, int]) -> None:
    """SDXL keeps its 64 px training buckets where they fit the ratio (16:9 → 1344×768)."""
    assert size_for_aspect(ratio, family) == size


@pytest.mark.parametrize("family", [*REAL_FAMILIES, TINY], ids=lambda family: family.name)
@pytest.mark.parametrize("ratio", [(1, 4), (4, 1), (7, 3), (13, 11)])
def test_every_size_is_a_valid_generation_size(family: ModelFamily, ratio: tuple[int, int]) -> None:
    """Even odd ratios give positive sides divisible by 8 that the engine accepts."""
    width, height = size_for_aspect(ratio, family)
    assert width > 0 and height > 0 and width % 8 == 0 and height % 8 == 0
