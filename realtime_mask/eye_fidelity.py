"""Identity-free eye fidelity: does the doctor's picture show the patient's eyes?

The masked output is tracked again with the same tracker, and per eye the 2D
eye-opening measures (iris position within the opening, aperture / eye width;
see `eye_opening_measures`) are compared with those of the input frame: the
aperture in every frame, the iris position where the eye is open enough in
both streams for it to mean something. Blinks are detected as dips of the
aperture in each stream and matched in time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from .clinical.lids import OPEN_PERCENTILE
from .face_model.eyes import eye_opening_measures
from .pipeline import FrameMasker
from .tracking import MediaPipeTracker

SIDES = ("left", "right")
MEASURES = ("h", "v", "aperture")
# an eye counts as closed (a blink) below this fraction of its median aperture
CLOSED_FRACTION = 0.45
# The iris position within the opening is compared only where the input eye is
# at least this open, as a share of its open aperture (defined as the clinical
# lid read-out defines the open fissure). In a narrowed eye the position is a
# ratio of a few pixels: liveportrait_d3 squints for long stretches, and there
# 'v' ran to -8..+6 and made up most of its error (0.09-0.10 -> 0.05-0.07).
POSITION_MIN_OPEN = 0.5


@dataclass
class EyeTrace:
    """Per-frame measures of one stream; NaN where no face was tracked."""
    values: dict[str, np.ndarray] = field(default_factory=dict)  # "left.h" -> (n,)

    @classmethod
    def from_measures(cls, rows: list[dict | None]) -> "EyeTrace":
        n = len(rows)
        values = {f"{s}.{m}": np.full(n, np.nan) for s in SIDES for m in MEASURES}
        for i, row in enumerate(rows):
            if row is None:
                continue
            for s in SIDES:
                for m in MEASURES:
                    values[f"{s}.{m}"][i] = row[s][m]
        return cls(values)


def blink_frames(aperture: np.ndarray) -> np.ndarray:
    open_level = np.nanmedian(aperture)
    return aperture < CLOSED_FRACTION * open_level


def open_enough_for_position(aperture: np.ndarray) -> np.ndarray:
    """Frames where the eye is open enough for the iris position to mean something."""
    ok = np.isfinite(aperture)
    if not ok.any():
        return ok
    open_level = np.percentile(aperture[ok], OPEN_PERCENTILE)
    return ok & (aperture >= POSITION_MIN_OPEN * open_level)


def blink_events(aperture: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frame spans where the eye is closed."""
    closed = np.nan_to_num(blink_frames(aperture), nan=0).astype(bool)
    edges = np.diff(np.concatenate([[0], closed.astype(int), [0]]))
    return list(zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]))


def compare(inp: EyeTrace, out: EyeTrace, slack: int = 2) -> dict:
    """Mean absolute errors per eye and measure, and blink recall."""
    result: dict = {"mae": {}, "blinks": {}}
    for s in SIDES:
        ap_in, ap_out = inp.values[f"{s}.aperture"], out.values[f"{s}.aperture"]
        both = ~np.isnan(ap_in) & ~np.isnan(ap_out)
        # the position is a ratio over the opening: where either stream's eye
        # is nearly shut it means nothing (one shut output frame of an open
        # input eye read v = 25), and the aperture error counts that frame
        open_eye = (both & ~blink_frames(ap_in) & open_enough_for_position(ap_in)
                    & open_enough_for_position(ap_out))
        for m in MEASURES:
            mask = both if m == "aperture" else open_eye
            err = np.abs(inp.values[f"{s}.{m}"][mask] - out.values[f"{s}.{m}"][mask])
            result["mae"][f"{s}.{m}"] = round(float(err.mean()), 4) if err.size else None
        events = blink_events(ap_in)
        closed_out = np.nan_to_num(blink_frames(out.values[f"{s}.aperture"]), nan=0).astype(bool)
        found = sum(closed_out[max(0, a - slack):b + slack].any() for a, b in events)
        result["blinks"][s] = {"input": len(events), "found_in_output": int(found),
                               "output_events": len(blink_events(out.values[f"{s}.aperture"]))}
    result["frames_compared"] = int(np.sum(~np.isnan(inp.values["left.h"]) & ~np.isnan(out.values["left.h"])))
    total = sum(b["input"] for b in result["blinks"].values())
    found = sum(b["found_in_output"] for b in result["blinks"].values())
    result["blink_recall"] = round(found / total, 3) if total else None
    values = [v for v in result["mae"].values() if v is not None]
    result["max_mae"] = max(values) if values else None
    return result


def measure_clip(frames: Iterable[tuple[np.ndarray, float]], width: int = 640,
                 height: int = 480, avatar: str | int = "per-session"
                 ) -> tuple[EyeTrace, EyeTrace, int]:
    """Mask every frame; measure the input and, by re-tracking, the output."""
    rows_in, rows_out = [], []
    with FrameMasker(width, height, avatar=avatar) as masker, \
            MediaPipeTracker() as in_tracker, MediaPipeTracker() as out_tracker:
        for rgb, t in frames:
            lm_in = in_tracker.track(rgb)
            result = masker.process(rgb, t)
            lm_out = out_tracker.track(result.frame) if result.params.face_present else None
            rows_in.append(eye_opening_measures(lm_in) if lm_in is not None else None)
            rows_out.append(eye_opening_measures(lm_out) if lm_out is not None else None)
    return EyeTrace.from_measures(rows_in), EyeTrace.from_measures(rows_out), len(rows_in)
