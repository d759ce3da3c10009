"""Phrase banks for /describe: CLIP ranks each bank against the image, the best phrases join
the caption. Written for this project (plain descriptive words, no artist names)."""

from __future__ import annotations

__all__ = ["PHRASE_BANKS"]

MEDIUMS = (
    "a photograph",
    "an oil painting",
    "a watercolor painting",
    "a pencil sketch",
    "a charcoal drawing",
    "a digital illustration",
    "a 3d render",
    "a linocut print",
    "a pixel art scene",
    "a ceramic sculpture",
    "a paper collage",
    "an ink wash drawing",
    "a film still",
    "a vector poster",
    "a mosaic of small tiles",
    "a pastel drawing",
)

STYLES = (
    "minimalist composition",
    "richly detailed",
    "soft dreamy mood",
    "bold graphic shapes",
    "muted earthy palette",
    "vivid saturated colors",
    "monochrome tones",
    "retro seventies feel",
    "clean modern design",
    "storybook whimsy",
    "documentary realism",
    "surreal and uncanny",
    "ornate decorative patterns",
    "rough textured brushwork",
    "high contrast",
    "pastel color scheme",
)

LIGHTING = (
    "golden hour light",
    "overcast diffuse light",
    "harsh midday sun",
    "candlelit glow",
    "neon light at night",
    "backlit silhouette",
    "soft window light",
    "moonlight",
    "studio lighting",
    "dramatic side light",
    "foggy haze",
    "warm lamplight",
)

PHRASE_BANKS: dict[str, tuple[str, ...]] = {"medium": MEDIUMS, "style": STYLES, "lighting": LIGHTING}
