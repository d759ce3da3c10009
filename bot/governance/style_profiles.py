"""Personal style from signals: how a profile vector is learned, and the codes of stored styles.

A **profile** lives in the IP-Adapter's image-embedding space (the space `--sref` pictures are
encoded into), so it can be fed to the style layers like a style picture. It is learned from:

- ❤️ likes: embeddings of the images the member marked as favourites;
- ranked pairs: (preferred image, other image) embeddings from /personalize.

profile = anchor + PAIR_WEIGHT × preference, rescaled to the anchors' mean length, where
anchor = the mean of the liked and preferred images (a point among real image embeddings: an
IP-Adapter token must look like an image's embedding) and preference = the mean of (preferred −
other) over the pairs (the direction the member's choices point to). A difference alone would be
a direction near the origin, far from any image embedding, which the adapter was never trained on.

A profile unlocks after UNLOCK_SIGNALS signals (a like or a ranked pair counts one each).

**Codes** are derived from the stored embeddings (SHA-256 of the adapter id, the kind and the
float32 bytes, in base 32): the same style on the same adapter has the same code on every server,
and a code says nothing about who made it. Profiles get 7 characters, moodboards "m" + 7.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

import numpy as np

__all__ = [
    "PAIR_WEIGHT",
    "UNLOCK_SIGNALS",
    "decode_vectors",
    "encode_vectors",
    "learn_profile",
    "style_code",
]

UNLOCK_SIGNALS = 20
PAIR_WEIGHT = 0.5
PROFILE_CODE_LENGTH = 7

Vector = Sequence[float]


def learn_profile(liked: Sequence[Vector], pairs: Sequence[tuple[Vector, Vector]]) -> np.ndarray:
    """The profile vector (float32) from liked embeddings and (preferred, other) pairs."""
    anchors = [np.asarray(vector, dtype=np.float64) for vector in liked]
    anchors += [np.asarray(preferred, dtype=np.float64) for preferred, _ in pairs]
    if not anchors:
        raise ValueError("a profile needs at least one like or ranked pair")
    anchor = np.mean(anchors, axis=0)
    profile = anchor
    if pairs:
        preference = np.mean(
            [np.asarray(a, np.float64) - np.asarray(b, np.float64) for a, b in pairs], axis=0
        )
        profile = anchor + PAIR_WEIGHT * preference
    length = float(np.linalg.norm(profile))
    target = float(np.mean([np.linalg.norm(vector) for vector in anchors]))
    if length > 0:
        profile = profile * (target / length)
    return profile.astype(np.float32)


def encode_vectors(vectors: np.ndarray | Sequence[Vector]) -> bytes:
    """Rows of float32, little-endian, for a BLOB."""
    return np.asarray(vectors, dtype="<f4").tobytes()


def decode_vectors(data: bytes, dim: int) -> np.ndarray:
    """The (n, dim) float32 rows of `encode_vectors`."""
    return np.frombuffer(data, dtype="<f4").reshape(-1, dim).copy()


def style_code(kind: str, adapter: str, vectors: np.ndarray | Sequence[Vector]) -> str:
    """The short code of stored style vectors: 7 base-32 characters (moodboards: "m" + 7)."""
    digest = hashlib.sha256(f"{kind}\n{adapter}\n".encode() + encode_vectors(vectors)).digest()
    text = base64.b32encode(digest).decode().lower().rstrip("=")
    code = text[:PROFILE_CODE_LENGTH]
    return f"m{code}" if kind == "moodboard" else code
