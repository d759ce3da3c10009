"""Personalization rows: embeddings cached per adapter, pairs, codes, profiles, moodboards, erasure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.governance.style_profiles import decode_vectors, encode_vectors, learn_profile, style_code
from bot.store.personalization import StoredStyle
from bot.store.repository import Repository
from tests.store.test_repository import make_job


@pytest.fixture
async def repository(tmp_path: Path):
    repository = await Repository.open(tmp_path / "bot.sqlite3", tmp_path / "images")
    for job_id, user_id in (("a", 1), ("b", 1), ("c", 2)):
        await repository.insert_job(make_job(job_id, user_id=user_id))
    yield repository
    await repository.close()


async def test_rows_round_trip_and_forget_me_takes_the_members_rows(repository: Repository) -> None:
    """Embeddings per adapter, pairs, a code's rows, a profile and a moodboard are stored and read
    back; erasing member 1 removes their pairs, profile, moodboards and their images' embeddings."""
    rows = np.arange(6, dtype=np.float32).reshape(2, 3)
    await repository.save_style_embedding("a", 0, "tiny#w", 3, encode_vectors(rows[0]))
    assert await repository.style_embedding("a", 0, "other#w") is None
    dim, data = await repository.style_embedding("a", 0, "tiny#w")
    assert np.array_equal(decode_vectors(data, dim), rows[:1])
    await repository.add_style_pair(1, ("a", 0), ("c", 1))
    assert await repository.style_pairs(1) == [(("a", 0), ("c", 1))]
    await repository.toggle_favourite(1, "b", 2)
    assert await repository.liked_images(1) == [("b", 2)]
    code = style_code("moodboard", "tiny#w", rows)
    await repository.save_style(StoredStyle(code, "moodboard", "tiny#w", 3, encode_vectors(rows)))
    stored = await repository.style_for_code(code)
    assert stored is not None and np.array_equal(decode_vectors(stored.vectors, stored.dim), rows)
    await repository.set_member_profile(1, code, 2)
    assert await repository.member_profile(1) == (code, 2)
    board = await repository.save_moodboard(1, "sea", ["https://x.example/a.png"], code)
    assert (board.name, board.sources, board.code) == ("sea", ("https://x.example/a.png",), code)
    await repository.erase_rows("user_id", 1)
    assert await repository.style_pairs(1) == [] and await repository.member_profile(1) is None
    assert await repository.moodboards(1) == [] and await repository.style_embedding("a", 0, "tiny#w") is None
    assert await repository.style_for_code(code) is not None  # a code carries no member: it stays


def test_profile_method_and_codes() -> None:
    """The profile leans from the liked anchor toward preferred-minus-other, keeps the anchors'
    length; codes depend on kind, adapter and rows only."""
    liked = [[1.0, 0.0], [1.0, 0.0]]
    pairs = [([0.0, 1.0], [0.0, -1.0])]
    profile = learn_profile(liked, pairs)
    assert np.isclose(np.linalg.norm(profile), 1.0) and profile[1] > 0.5
    assert np.allclose(learn_profile(liked, []), [1.0, 0.0])
    one = style_code("profile", "a#w", [profile])
    assert one == style_code("profile", "a#w", [profile]) and len(one) == 7
    assert one != style_code("profile", "b#w", [profile])
    assert style_code("moodboard", "a#w", [profile]).startswith("m")
    with pytest.raises(ValueError):
        learn_profile([], [])
