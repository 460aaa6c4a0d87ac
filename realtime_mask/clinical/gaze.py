"""Per-eye gaze traces and the inter-eye deviation (strabismus angle).

Sign conventions follow MaskParams: +yaw is towards the patient's left, +pitch
is up. For the right eye the nose is at +yaw, for the left eye at -yaw, so
right_yaw - left_yaw > 0 means the eyes converge more than parallel: eso.
right_pitch - left_pitch > 0 means the right eye is higher: right hyper (which
is the same misalignment as a left hypo).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lids import eye_closed
from .track import ParamsTrack
from .units import prism_dioptres

SPREAD_SCALE_DEG = 2.0
LASTING_SHARE = 0.9        # horizontal_lasting_deg: the deviation this share of frames reaches
LASTING_MIN_S = 1.0       # both eyes seen at least this long for horizontal_lasting_deg
# How far the absolute deviation reads off between people with straight eyes:
# 1 sd over 24 synthetic normal faces (benchmarks/normal_spread.py). Each face's
# eyeball sits a little differently behind its lids, which landmarks cannot
# show; the offset is constant for a person, so changes within a session
# (between gaze positions, nystagmus, saccades) do not carry it.
DEVIATION_SPREAD_DEG = {"horizontal": 5.47, "vertical": 1.95}
# The same where the horizontal deviation is anchored to the corneal reflexes
# (face_model/reflex_anchor.py): 1 sd over the same 24 faces, 2026-11-27. The
# vertical is anchored only while the lids stand clear of the limbus, so the
# landmarks' spread is quoted for it.
ANCHORED_SPREAD_DEG = {"horizontal": 1.06, "vertical": 1.95}


def deviation_spread(axis: str, anchored: bool = False) -> float:
    return (ANCHORED_SPREAD_DEG if anchored else DEVIATION_SPREAD_DEG)[axis]


def deviation_spread_text(axis: str, anchored: bool = False) -> str:
    """What a doctor reads next to an absolute deviation ("horizontal"/"vertical")."""
    how = ", corneal reflexes" if anchored and axis == "horizontal" else ""
    return f"±{deviation_spread(axis, anchored):.0f}° between faces{how}"


@dataclass
class GazeTraces:
    t: np.ndarray
    right_yaw: np.ndarray
    right_pitch: np.ndarray
    left_yaw: np.ndarray
    left_pitch: np.ndarray


@dataclass
class Deviation:
    horizontal_deg: float      # + eso, - exo
    vertical_deg: float        # + right eye higher, - left eye higher
    horizontal_pd: float
    vertical_pd: float
    confidence: float
    frames: int
    deviating_eye: str | None  # a guess: the eye farther from straight ahead
    deviating_eye_confidence: float
    anchored: bool = False     # the horizontal deviation rests on the corneal reflexes
    # How far the eyes deviate horizontally, the median's way, in all but the
    # tenth of the frames that deviate least (LASTING_SHARE): a lasting
    # strabismus clears its bar here however much it wobbles.
    horizontal_lasting_deg: float = float("nan")

    @property
    def horizontal_name(self) -> str:
        return "eso" if self.horizontal_deg > 0 else "exo"

    @property
    def vertical_name(self) -> str:
        return "right hyper" if self.vertical_deg > 0 else "left hyper"


def gaze_valid(track: ParamsTrack, side: str) -> np.ndarray:
    eye = track.eye(side)
    return track.present & eye.known & ~eye_closed(eye)


def gaze_traces(track: ParamsTrack) -> GazeTraces:
    """Gaze of each eye in degrees; NaN where the face is lost or the eye is shut."""
    out = {}
    for side in ("right", "left"):
        eye, ok = track.eye(side), gaze_valid(track, side)
        out[f"{side}_yaw"] = np.where(ok, eye.yaw, np.nan)
        out[f"{side}_pitch"] = np.where(ok, eye.pitch, np.nan)
    return GazeTraces(t=track.t.copy(), **out)


def deviation_series(track: ParamsTrack) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame horizontal (+eso) and vertical (+right higher) deviation, degrees."""
    g = gaze_traces(track)
    return g.right_yaw - g.left_yaw, g.right_pitch - g.left_pitch


def measure_deviation(track: ParamsTrack) -> Deviation:
    h, v = deviation_series(track)
    both = np.isfinite(h) & np.isfinite(v)
    n = int(both.sum())
    if n == 0:
        nan = float("nan")
        return Deviation(nan, nan, nan, nan, 0.0, 0, None, 0.0)
    hd, vd = float(np.median(h[both])), float(np.median(v[both]))
    spread = float(np.hypot(np.median(np.abs(h[both] - hd)), np.median(np.abs(v[both] - vd))))
    coverage = min(1.0, n / max(1.0, 0.5 * len(track)))
    confidence = coverage * float(np.exp(-spread / SPREAD_SCALE_DEG)) * min(1.0, n / 15.0)

    # Which eye is off? Patients fixate mostly straight ahead, so the deviating
    # eye is the one whose median direction is farther from the centre.
    g = gaze_traces(track)
    off = {}
    for side in ("right", "left"):
        yaw, pitch = getattr(g, f"{side}_yaw")[both], getattr(g, f"{side}_pitch")[both]
        off[side] = float(np.hypot(np.median(yaw), np.median(pitch)))
    total = off["right"] + off["left"]
    eye = max(off, key=off.get) if total > 0 else None
    eye_conf = abs(off["right"] - off["left"]) / total if total > 0 else 0.0
    anchored = bool(np.mean(track.reflex_anchored[both]) >= 0.5)
    lasting = float("nan")
    if n * track.frame_interval >= LASTING_MIN_S:
        lasting = float(np.percentile(np.copysign(1.0, hd) * h[both], 100 * (1 - LASTING_SHARE)))
    return Deviation(hd, vd, float(prism_dioptres(hd)), float(prism_dioptres(vd)),
                     round(confidence, 3), n, eye, round(eye_conf, 3), anchored, lasting)


# The nine diagnostic positions as (name, yaw sign, pitch sign); yaw + is the
# patient's left. A frame belongs to the position its mean (version) gaze is in.
POSITIONS = [(f"{v}{'-' if v and h else ''}{h}" or "primary", hs, vs)
             for v, vs in (("up", 1), ("", 0), ("down", -1))
             for h, hs in (("right", -1), ("", 0), ("left", 1))]
POSITION_YAW_DEG = 7.5
POSITION_PITCH_DEG = 5.0
MIN_POSITION_FRAMES = 5


@dataclass
class PositionDeviation:
    position: str          # "primary", "left", "up-right", ... (the patient's sides)
    horizontal_deg: float  # + eso
    vertical_deg: float    # + right eye higher
    frames: int


def deviation_by_position(track: ParamsTrack) -> list[PositionDeviation]:
    """Deviation in each diagnostic gaze position that the clip visits (comitance).

    The position is where the fixing eye looks: the eye that is not the likely
    deviating one, or the mean of both when that cannot be told."""
    g = gaze_traces(track)
    h, v = g.right_yaw - g.left_yaw, g.right_pitch - g.left_pitch
    overall = measure_deviation(track)
    if overall.deviating_eye and overall.deviating_eye_confidence >= 0.3:
        fixing = "left" if overall.deviating_eye == "right" else "right"
        yaw, pitch = getattr(g, f"{fixing}_yaw"), getattr(g, f"{fixing}_pitch")
    else:
        yaw, pitch = (g.right_yaw + g.left_yaw) / 2, (g.right_pitch + g.left_pitch) / 2
    ok = np.isfinite(h) & np.isfinite(v)
    ys = np.where(yaw > POSITION_YAW_DEG, 1, np.where(yaw < -POSITION_YAW_DEG, -1, 0))
    ps = np.where(pitch > POSITION_PITCH_DEG, 1, np.where(pitch < -POSITION_PITCH_DEG, -1, 0))
    out = []
    for name, hs, vs in POSITIONS:
        sel = ok & (ys == hs) & (ps == vs)
        if sel.sum() >= MIN_POSITION_FRAMES:
            out.append(PositionDeviation(name, float(np.median(h[sel])),
                                         float(np.median(v[sel])), int(sel.sum())))
    return out
