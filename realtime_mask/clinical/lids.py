"""Eyelid measurements: MRD1/MRD2, palpebral fissure, eye closure and blinks.

An eye counts as closed when its fissure falls below a fraction of its own open
fissure (its 80th percentile over the clip, OPEN_PERCENTILE), so a ptotic eye with a narrow but
steady fissure is not mistaken for a closed one. A blink is a short closure of
the eyes together (one eye only is a wink, not a blink).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .track import EyeTrack, ParamsTrack
from .units import radii_to_mm

OPEN_PERCENTILE = 80        # an eye's open fissure: this percentile over the clip
CLOSED_FRACTION = 0.35      # fissure below this share of the open fissure = closed
MIN_OPEN_FISSURE = 0.3      # iris radii; below this the eye never counts as open
BOTH_EYES_CLOSED_MEAN = 0.45  # blink: mean share of open fissure over both eyes below this
EACH_EYE_NARROWED = 0.75      # ... and each eye below this share (a wink leaves one open)
MAX_BLINK_S = 1.0           # longer closures are "eyes closed", not blinks
MERGE_GAP_S = 0.07          # closures separated by one or two frames are one blink
BLINK_GUARD_S = 0.1         # frames this close to a blink are left out of lid levels
PRIMARY_PITCH_DEG = 10.0    # MRD is defined in primary gaze
DOWNGAZE_PITCH_DEG = -8.0   # lid lag is judged from frames looking at least this far down
# ... for at least this long in all, and as long in primary gaze: a downgaze
# is held or followed, not a few frames where the read-out's pitch dips
MIN_LID_LAG_S = 0.5


@dataclass
class Blink:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class EyeLids:
    side: str
    mrd1_mm: float
    mrd2_mm: float
    fissure_mm: float
    confidence: float
    open_frames: int
    # MRD1 in downgaze minus MRD1 in primary gaze: ~0 when the lid follows the
    # eye down, clearly positive with lid lag (thyroid eye disease). NaN when
    # the clip has no downgaze.
    downgaze_mrd1_change_mm: float = float("nan")
    # MRD1 rests on the lid margin in the pixels (lid_anchor.py) in most of its frames
    anchored: bool = False


@dataclass
class LidReport:
    right: EyeLids
    left: EyeLids
    blinks: list[Blink] = field(default_factory=list)
    blink_rate_per_min: float = float("nan")
    blink_confidence: float = 0.0
    long_closures: list[Blink] = field(default_factory=list)

    def eye(self, side: str) -> EyeLids:
        return self.right if side == "right" else self.left


def relative_fissure(eye: EyeTrack) -> np.ndarray:
    """Fissure as a share of the eye's own open fissure (NaN where unknown)."""
    fissure = eye.fissure
    ok = np.isfinite(fissure)
    if not ok.any():
        return np.full(fissure.shape, np.nan)
    open_level = max(float(np.percentile(fissure[ok], OPEN_PERCENTILE)), MIN_OPEN_FISSURE)
    return fissure / open_level


def eye_closed(eye: EyeTrack) -> np.ndarray:
    """Per frame: True closed, False open; unknown frames are False (see eye.known)."""
    rel = relative_fissure(eye)
    return np.isfinite(rel) & (rel < CLOSED_FRACTION)


def closure_frames(track: ParamsTrack) -> np.ndarray:
    """Frames where the eyes that are seen are closed together.

    With both eyes seen, their mean relative fissure must be low and each must
    have narrowed clearly: a tracker often closes one eye of a blink fully and
    the other only part way, while a wink leaves the other eye open. With one
    eye seen, that eye must be closed."""
    right, left = relative_fissure(track.right), relative_fissure(track.left)
    both = np.isfinite(right) & np.isfinite(left)
    out = np.zeros(len(track), bool)
    out[both] = (((right[both] + left[both]) / 2 < BOTH_EYES_CLOSED_MEAN)
                 & (np.maximum(right[both], left[both]) < EACH_EYE_NARROWED))
    for rel, other in ((right, left), (left, right)):
        alone = np.isfinite(rel) & ~np.isfinite(other)
        out[alone] = rel[alone] < CLOSED_FRACTION
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2], edges[1::2]))


def find_closures(track: ParamsTrack) -> list[Blink]:
    closed = closure_frames(track)
    dt = track.frame_interval
    spans: list[list[float]] = []
    for a, b in _runs(closed):
        start, end = track.t[a], track.t[b - 1] + dt
        if spans and start - spans[-1][1] <= MERGE_GAP_S + 1e-9:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    return [Blink(float(s), float(e)) for s, e in spans]


def _eye_lids(track: ParamsTrack, side: str, near_blink: np.ndarray) -> EyeLids:
    eye = track.eye(side)
    usable = np.isfinite(eye.upper) & np.isfinite(eye.lower) & ~eye_closed(eye) & ~near_blink
    primary = usable & (np.abs(np.nan_to_num(eye.pitch, nan=99.0)) <= PRIMARY_PITCH_DEG)
    # Primary gaze when there is enough of it; otherwise every open frame.
    chosen = primary if primary.sum() >= max(5, 0.2 * usable.sum()) else usable
    n = int(chosen.sum())
    if n == 0:
        nan = float("nan")
        return EyeLids(side, nan, nan, nan, 0.0, 0)
    lag = float("nan")
    pitch = np.nan_to_num(eye.pitch, nan=0.0)
    level = usable & (np.abs(pitch) <= 5.0)
    down = usable & (pitch <= DOWNGAZE_PITCH_DEG)
    enough = MIN_LID_LAG_S / track.frame_interval
    if level.sum() >= enough and down.sum() >= enough:
        lag = float(np.median(radii_to_mm(eye.upper[down])) - np.median(radii_to_mm(eye.upper[level])))
    upper = radii_to_mm(eye.upper[chosen])
    lower = radii_to_mm(eye.lower[chosen])
    mrd1, mrd2 = float(np.median(upper)), float(np.median(lower))
    spread = float(np.median(np.abs(upper - mrd1)))
    coverage = min(1.0, n / max(1.0, 0.5 * len(track)))
    confidence = coverage * float(np.exp(-spread / 1.0)) * min(1.0, n / 15.0)
    anchored = bool(np.mean(eye.lid_anchored[chosen]) >= 0.5)
    return EyeLids(side, mrd1, mrd2, mrd1 + mrd2, round(confidence, 3), n, lag, anchored)


def measure_lids(track: ParamsTrack) -> LidReport:
    closures = find_closures(track)
    blinks = [c for c in closures if c.duration <= MAX_BLINK_S]
    long_closures = [c for c in closures if c.duration > MAX_BLINK_S]
    near_blink = np.zeros(len(track), bool)
    for c in closures:
        near_blink |= (track.t >= c.start - BLINK_GUARD_S) & (track.t < c.end + BLINK_GUARD_S)
    seen_s = float(np.sum(track.present)) * track.frame_interval
    rate = 60.0 * len(blinks) / seen_s if seen_s >= 1.0 else float("nan")
    blink_conf = min(1.0, seen_s / 10.0) if seen_s >= 1.0 else 0.0
    return LidReport(
        right=_eye_lids(track, "right", near_blink),
        left=_eye_lids(track, "left", near_blink),
        blinks=blinks,
        blink_rate_per_min=rate,
        blink_confidence=round(blink_conf, 3),
        long_closures=long_closures,
    )
