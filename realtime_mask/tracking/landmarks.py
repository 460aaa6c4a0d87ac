"""The landmark container and the tracker interface.

Index conventions (MediaPipe FaceMesh with refine_landmarks=True, 478 points),
"left"/"right" always being the patient's own side:

- the patient's LEFT eye appears on the image right of an unmirrored frame. Its
  iris block is 473..477 (473 = iris centre, then 4 points on the iris edge) and
  its corners are 362 (inner) and 263 (outer).
- the patient's RIGHT eye (image left) has iris block 468..472 (468 = centre) and
  corners 133 (inner) and 33 (outer).

This was determined on real frontal photos and clips (tests/test_tracking.py
checks it on every run): in an unmirrored frontal frame landmark 473 lies on the
image right, inside the eye bounded by 362/263.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

N_LANDMARKS = 478

RIGHT_IRIS = (468, 469, 470, 471, 472)   # patient's right eye (image left)
LEFT_IRIS = (473, 474, 475, 476, 477)    # patient's left eye (image right)


@dataclass(frozen=True)
class EyeContour:
    """Landmark ids of one eye opening: the two corners and the lid margins,
    each lid listed from the inner corner to the outer corner."""
    inner: int
    outer: int
    upper: tuple[int, ...]
    lower: tuple[int, ...]
    iris: tuple[int, ...]   # centre first, then four edge points


RIGHT_EYE_CONTOUR = EyeContour(
    inner=133, outer=33,
    upper=(173, 157, 158, 159, 160, 161, 246),
    lower=(155, 154, 153, 145, 144, 163, 7),
    iris=RIGHT_IRIS)
LEFT_EYE_CONTOUR = EyeContour(
    inner=362, outer=263,
    upper=(398, 384, 385, 386, 387, 388, 466),
    lower=(382, 381, 380, 374, 373, 390, 249),
    iris=LEFT_IRIS)
EYE_CONTOURS = {"left": LEFT_EYE_CONTOUR, "right": RIGHT_EYE_CONTOUR}   # by the patient's side


@dataclass
class Landmarks:
    """Face landmarks of one frame.

    points: (478, 3) float32; x, y in pixels of the input frame (y down), z the
    relative depth in the same pixel scale (smaller = closer to the camera).
    iris_rise: per eye ("right"/"left"), the iris's quick vertical shift (px,
    y down) that its limbus shows beyond FaceMesh's iris points, for the gaze
    alone (tracking/iris_motion.py); the lids are read against the points.
    """
    points: np.ndarray
    width: int
    height: int
    confidence: float = 1.0
    iris_rise: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.points = np.asarray(self.points, np.float32)
        if self.points.shape != (N_LANDMARKS, 3):
            raise ValueError(f"Landmarks need ({N_LANDMARKS}, 3) points, got {self.points.shape}")

    def mirrored(self) -> "Landmarks":
        """The landmarks a horizontally flipped frame would give (x -> width - x),
        with the ids left unchanged (so anatomical sides swap)."""
        p = self.points.copy()
        p[:, 0] = self.width - p[:, 0]
        swap = {"right": "left", "left": "right"}
        return Landmarks(p, self.width, self.height, self.confidence,
                         {swap[side]: rise for side, rise in self.iris_rise.items()})


@runtime_checkable
class Tracker(Protocol):
    """Any landmark backend: RGB frame in, Landmarks (or None without a face) out."""

    def track(self, rgb: np.ndarray) -> Landmarks | None: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...
