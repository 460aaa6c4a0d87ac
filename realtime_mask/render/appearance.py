"""How the avatar looks: one shared neutral look for the live mask, or a
different look for a synthetic patient (test-data generator only)."""

from __future__ import annotations

from dataclasses import dataclass


RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Appearance:
    """Colours in linear-ish 0..1 RGB. The default is the neutral avatar every
    patient is rendered as; it must not vary per patient (privacy)."""
    skin_rgb: RGB = (0.80, 0.64, 0.54)
    iris_rgb: RGB = (0.36, 0.27, 0.20)
    sclera_rgb: RGB = (0.95, 0.94, 0.91)
    brow_rgb: RGB = (0.28, 0.20, 0.15)
    lip_rgb: RGB = (0.72, 0.42, 0.40)
    background_rgb: RGB = (0.36, 0.40, 0.45)
    # 0 = flat neutral look; > 0 adds procedural skin mottling and iris fibres
    # so that a synthetic person reads as human to a face tracker.
    detail: float = 0.0
    # > 0: a corneal light reflex of this strength from a light at the camera
    # (synthetic patients, for the Hirschberg read-out). The reflex sits where
    # the cornea's curvature centre projects, `reflex_lever` iris radii behind
    # the iris centre along the line of sight: that lever sets the Hirschberg ratio.
    corneal_reflex: float = 0.0
    reflex_lever: float = 0.77

    def __post_init__(self) -> None:
        for name in ("skin_rgb", "iris_rgb", "sclera_rgb", "brow_rgb", "lip_rgb",
                     "background_rgb"):
            v = getattr(self, name)
            if len(v) != 3 or not all(0.0 <= float(c) <= 1.0 for c in v):
                raise ValueError(f"Appearance.{name} must be three values in 0..1, got {v}")
        if not 0.0 <= self.detail <= 1.0:
            raise ValueError(f"Appearance.detail must be in 0..1, got {self.detail}")
        if not 0.0 <= self.corneal_reflex <= 1.0:
            raise ValueError(f"Appearance.corneal_reflex must be in 0..1, got {self.corneal_reflex}")
        if not 0.4 <= self.reflex_lever <= 1.2:
            raise ValueError(f"Appearance.reflex_lever must be in 0.4..1.2, got {self.reflex_lever}")


NEUTRAL_APPEARANCE = Appearance()
