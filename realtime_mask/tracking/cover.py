"""Is an eye covered (a hand or a card, as in a cover test)?

FaceMesh does not say: with a hand over one eye it goes on tracking the face
and draws that eye open and looking straight ahead. On liveportrait_d0 with a
card over the right eye while the patient looked aside, the covered eye read
h 0.47-0.52 (iris centred) and 0.61-0.63 as soon as the card was gone - a
squint the doctor would see on the avatar that the patient does not have.

The pixels do say. Inside the eye opening that FaceMesh outlines, an eye shows
iris, sclera and lashes: a wide spread of grey levels (90th minus 10th
percentile). A card or occluder there is nearly flat. Each eye's spread is
compared with its usual level in this session (the 80th percentile over the
last 10 s of frames that showed it open, so a long squint does not pull the
level down).

An eye counts as covered after COVER_FRAMES frames in a row in which FaceMesh
draws it open (at least OPEN_SHARE of its usual opening) and its spread is
below COVERED_SHARE of its usual level and below OTHER_EYE_SHARE of the other
eye's share (both eyes narrowing together is a squint, not a cover), or below
FLAT_SHARE whatever the other eye does. A cover can also make FaceMesh draw the
eye half shut (a dark patch over a synthetic patient's eye read 0.33-0.41 of
its usual opening), so an outline with no spread at all (below BLANK_SHARE)
counts too, however open it is drawn; closed lids still show a lash line (0.06
of the usual spread at the lowest on the real clips).

Measured on the 12 real clips (2,707 frames): with nothing over the eyes, 2
frames were called covered (liveportrait_d3, in a long squint while looking
down). With a flat skin-coloured card pasted over the right eye for 40 frames,
it was found in 30-38 of the 38 frames after the first two, on every clip. Not
caught: the person's own cheek skin, blurred and with finger gaps, pasted over
the eye (found in at most 10 of 13-38 frames) - a textured palm can pass for
an eye. Cost: about 0.3 ms per frame.
"""

from __future__ import annotations

import math
from collections import deque
from functools import lru_cache

import cv2
import numpy as np

from .landmarks import EYE_CONTOURS as CONTOURS
from .landmarks import EyeContour, Landmarks

COVERED_SHARE = 0.35
OTHER_EYE_SHARE = 0.45
FLAT_SHARE = 0.12
BLANK_SHARE = 0.04        # below this the outline shows nothing, however open FaceMesh draws it
OPEN_SHARE = 0.6          # the outline counts as open above this share of its usual opening
                          # (FaceMesh draws a covered eye as a plainly open one)
COVER_FRAMES = 2          # frames in a row before an eye counts as covered (or uncovered)
HISTORY = 300             # frames in the usual levels (~10 s)
USUAL_PERCENTILE = 80
WARMUP, REFRESH = 10, 10


class RunningLevel:
    """An eye's usual open level: the USUAL_PERCENTILE of its last HISTORY samples
    (a high percentile, so a long squint does not pull it down), NaN before
    WARMUP samples; recomputed every REFRESH samples."""

    def __init__(self):
        self.values: deque[float] = deque(maxlen=HISTORY)
        self._value, self._since = float("nan"), 0

    def add(self, x: float) -> None:
        self.values.append(x)
        self._since += 1
        if len(self.values) >= WARMUP and (self._since >= REFRESH or not math.isfinite(self._value)):
            self._value, self._since = float(np.percentile(self.values, USUAL_PERCENTILE)), 0

    @property
    def value(self) -> float:
        return self._value


def grey_spread(rgb: np.ndarray, landmarks: Landmarks, c: EyeContour) -> float:
    """90th minus 10th percentile of grey inside the eye outline (NaN if too small)."""
    outline = landmarks.points[_outline_ids(c), :2]
    h, w = rgb.shape[:2]
    lo, hi = outline.min(0), outline.max(0)
    x0, y0 = min(max(int(np.floor(lo[0])), 0), w), min(max(int(np.floor(lo[1])), 0), h)
    x1, y1 = min(max(int(np.ceil(hi[0])) + 1, 0), w), min(max(int(np.ceil(hi[1])) + 1, 0), h)
    crop = rgb[y0:y1, x0:x1]
    if crop.size == 0:
        return float("nan")
    mask = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(outline - (x0, y0)).astype(np.int32)], 1)
    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)[mask > 0]
    if grey.size < 10:
        return float("nan")
    n = grey.size - 1
    low, high = int(0.1 * n), int(0.9 * n)
    grey = np.partition(grey, (low, high))      # the two order statistics, no full sort
    return float(grey[high]) - float(grey[low])


@lru_cache(maxsize=None)
def _outline_ids(c: EyeContour) -> np.ndarray:
    """The eye outline's landmark ids: inner corner, upper lid, outer corner, lower lid back."""
    return np.array([c.inner, *c.upper, c.outer, *reversed(c.lower)])


def opening(landmarks: Landmarks, c: EyeContour) -> float:
    """Lid-to-lid distance at mid-eye over the eye's width, from FaceMesh's outline
    (cheaper than eye_opening_measures, which interpolates at the iris column)."""
    pts = landmarks.points[:, :2]
    upper, lower = c.upper[len(c.upper) // 2], c.lower[len(c.lower) // 2]
    width = np.linalg.norm(pts[c.outer] - pts[c.inner])
    return float(np.linalg.norm(pts[lower] - pts[upper]) / max(width, 1e-6))


def _looks_covered(share: float, other: float, is_open: bool) -> bool:
    """One frame's evidence (NaN compares False: an unknown share is no evidence,
    and an unknown other eye does not protect)."""
    # A cover can also make FaceMesh draw the eye half shut; closed lids still
    # show a lash line, a cover nothing at all.
    if share < BLANK_SHARE:
        return True
    return is_open and (share < FLAT_SHARE or (
        share < COVERED_SHARE and not share >= OTHER_EYE_SHARE * other))


class EyeCoverDetector:
    """Per session: which eyes are covered in each frame (`reset()` for a new one)."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self._spread = {side: RunningLevel() for side in CONTOURS}
        self._opening = {side: RunningLevel() for side in CONTOURS}
        self._run = {side: 0 for side in CONTOURS}
        self.covered = {side: False for side in CONTOURS}

    def update(self, rgb: np.ndarray, landmarks: Landmarks | None) -> dict[str, bool]:
        if landmarks is None:
            return dict(self.covered)
        openings = {s: opening(landmarks, c) for s, c in CONTOURS.items()}
        spread = {s: grey_spread(rgb, landmarks, c) for s, c in CONTOURS.items()}
        share, is_open = {}, {}
        for side in CONTOURS:
            usual_opening = self._opening[side].value
            is_open[side] = (not math.isfinite(usual_opening)
                             or openings[side] > OPEN_SHARE * usual_opening)
            usual = self._spread[side].value
            share[side] = spread[side] / usual if usual > 0 else float("nan")
        for side in CONTOURS:
            # the other eye counts however open FaceMesh draws it: in a squint it
            # may read narrower than this one, and its pixels narrow too
            other = share["left" if side == "right" else "right"]
            low = _looks_covered(share[side], other, is_open[side])
            # count frames in a row that disagree with the current state
            self._run[side] = self._run[side] + 1 if low != self.covered[side] else 0
            if self._run[side] >= COVER_FRAMES:
                self.covered[side], self._run[side] = low, 0
            if not self.covered[side] and not low and math.isfinite(spread[side]):
                # the usual levels learn only from frames that show the eye open
                self._opening[side].add(openings[side])
                if is_open[side] or not math.isfinite(self._spread[side].value):
                    self._spread[side].add(spread[side])
        return dict(self.covered)
