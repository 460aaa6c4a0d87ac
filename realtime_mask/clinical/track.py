"""A MaskParams stream as column arrays, the input of every clinical measurement.

Unknown values are NaN: frames without a face, a covered eye (a hand or card
over it, as in a cover test), and any eye value that is not a finite number. Sorting by
timestamp and dropping repeated timestamps makes the arrays a clean time series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

from ..params import MaskParams

EYE_FIELDS = ("yaw_deg", "pitch_deg", "upper_lid", "lower_lid", "blink")
SIDES = ("right", "left")


@dataclass
class EyeTrack:
    """One eye's parameters over time (NaN = unknown)."""
    yaw: np.ndarray
    pitch: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    blink: np.ndarray
    covered: np.ndarray         # bool: something covered the eye (its values are NaN)
    # bool: the upper lid was anchored to its margin in the pixels (EyeParams.lid_anchored)
    lid_anchored: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.lid_anchored is None:
            self.lid_anchored = np.zeros(len(self.yaw), bool)

    @property
    def fissure(self) -> np.ndarray:
        """Palpebral fissure height in iris radii (MRD1 + MRD2)."""
        return self.upper + self.lower

    @property
    def known(self) -> np.ndarray:
        return np.isfinite(self.yaw) & np.isfinite(self.pitch) & np.isfinite(self.fissure)


@dataclass
class ParamsTrack:
    t: np.ndarray
    present: np.ndarray
    confidence: np.ndarray
    head_yaw: np.ndarray
    head_pitch: np.ndarray
    head_roll: np.ndarray
    right: EyeTrack
    left: EyeTrack
    # bool: the deviation between the eyes was anchored to their corneal
    # reflexes in this frame (MaskParams.reflex_anchored)
    reflex_anchored: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.reflex_anchored is None:
            self.reflex_anchored = np.zeros(len(self.t), bool)

    def __len__(self) -> int:
        return int(self.t.shape[0])

    def eye(self, side: str) -> EyeTrack:
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, got {side!r}")
        return self.right if side == "right" else self.left

    @property
    def frame_interval(self) -> float:
        """Median frame interval in seconds (1/30 when it cannot be told)."""
        if len(self) < 2:
            return 1.0 / 30.0
        dt = np.diff(self.t)
        dt = dt[dt > 0]
        return float(np.median(dt)) if dt.size else 1.0 / 30.0

    @property
    def duration(self) -> float:
        return float(self.t[-1] - self.t[0] + self.frame_interval) if len(self) else 0.0

    @classmethod
    def from_params(cls, stream: Iterable[MaskParams | Mapping]) -> "ParamsTrack":
        rows = [p.to_dict() if isinstance(p, MaskParams) else dict(p) for p in stream]
        rows.sort(key=lambda r: float(r["timestamp"]))
        kept, last_t = [], None
        for r in rows:
            t = float(r["timestamp"])
            if last_t is not None and t <= last_t:
                continue
            kept.append(r)
            last_t = t
        n = len(kept)

        def column(get) -> np.ndarray:
            out = np.full(n, np.nan)
            for i, r in enumerate(kept):
                if not r.get("face_present", False):
                    continue
                try:
                    out[i] = float(get(r))
                except (KeyError, TypeError, ValueError):
                    pass
            return out

        def eye(side: str) -> EyeTrack:
            key = f"{side}_eye"
            cols = {f: column(lambda r, f=f: r[key][f]) for f in EYE_FIELDS}
            covered = np.array([bool(r.get("face_present")) and bool(r[key].get("covered"))
                                for r in kept], bool)
            for values in cols.values():
                values[covered] = np.nan   # the last seen values, not a measurement
            anchored = np.array([bool(r.get("face_present")) and bool(r[key].get("lid_anchored"))
                                 for r in kept], bool)
            return EyeTrack(cols["yaw_deg"], cols["pitch_deg"], cols["upper_lid"],
                            cols["lower_lid"], cols["blink"], covered, anchored & ~covered)

        return cls(
            t=np.array([float(r["timestamp"]) for r in kept]),
            present=np.array([bool(r.get("face_present", False)) for r in kept], bool),
            confidence=np.array([float(r.get("confidence", 0.0)) for r in kept]),
            head_yaw=column(lambda r: r["head"]["yaw_deg"]),
            head_pitch=column(lambda r: r["head"]["pitch_deg"]),
            head_roll=column(lambda r: r["head"]["roll_deg"]),
            right=eye("right"),
            left=eye("left"),
            reflex_anchored=np.array([bool(r.get("face_present")) and bool(r.get("reflex_anchored"))
                                      for r in kept], bool),
        )
