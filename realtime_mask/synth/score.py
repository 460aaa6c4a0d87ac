"""Compare clinical measurements of a stream with a synthetic patient's truth."""

from __future__ import annotations

import math

import numpy as np

from ..clinical import ClinicalSummary, ParamsTrack, deviation_series
from ..params import EXPRESSION_NAMES, MaskParams
from .script import ScriptedPatient

BLINK_TOLERANCE_S = 0.1


def _r(v: float, digits: int = 3) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), digits)


def blink_match(truth: list[tuple[float, float]], found) -> dict:
    """Recall: truth blinks overlapped (within a tolerance) by a found blink; precision the other way."""
    def overlaps(a, b):
        return a[0] - BLINK_TOLERANCE_S < b[1] and b[0] - BLINK_TOLERANCE_S < a[1]

    spans = [(b.start, b.end) for b in found]
    hit = sum(any(overlaps(t, f) for f in spans) for t in truth)
    true_found = sum(any(overlaps(f, t) for t in truth) for f in spans)
    return {"truth": len(truth), "found": len(spans),
            "recall": _r(hit / len(truth)) if truth else None,
            "precision": _r(true_found / len(spans)) if spans else None}


def tracking_errors(patient: ScriptedPatient, track: ParamsTrack) -> dict:
    """Per eye and parameter, and for the head's angles: bias (median measured -
    truth) and, where the truth moves, gain (slope of measured on truth). Frames
    are matched by timestamp; lid values in mm; eyes only in frames where the
    truth eye is open."""
    truth = ParamsTrack.from_params(patient.frames)
    idx = np.searchsorted(truth.t, track.t)
    idx = np.clip(idx, 0, len(truth) - 1)
    same = np.abs(truth.t[idx] - track.t) < 1e-3

    def entry(tv: np.ndarray, mv: np.ndarray, ok: np.ndarray) -> dict | None:
        ok = ok & np.isfinite(mv) & np.isfinite(tv)
        if ok.sum() < 5:
            return None
        out = {"bias": _r(float(np.median(mv[ok] - tv[ok]))),
               "sd": _r(float(np.std(mv[ok] - tv[ok])))}
        if np.ptp(tv[ok]) > 2.0:
            out["gain"] = _r(float(np.polyfit(tv[ok], mv[ok], 1)[0]))
        return out

    out = {}
    for side in ("right", "left"):
        te, me = truth.eye(side), track.eye(side)
        open_ = same & (te.blink[idx] < 0.05)
        for name, scale in (("yaw", 1.0), ("pitch", 1.0), ("upper", 5.85), ("lower", 5.85)):
            out[f"{side}_{name}"] = entry(getattr(te, name)[idx] * scale,
                                          getattr(me, name) * scale, open_)
    for name in ("yaw", "pitch", "roll"):
        key = f"head_{name}"
        out[key] = entry(getattr(truth, key)[idx], getattr(track, key), same)
    return out


def expression_error(truth: list[MaskParams], stream: list[MaskParams]) -> dict | None:
    """How far the expression weights (0..1) read from the truth's, over the
    frames with a face: the median over frames of the mean and of the largest
    absolute error, and the expression that is off most on average. (The
    scripts hold a neutral face, so this is the spurious expression a doctor
    would see on the avatar.)"""
    pairs = [(np.asarray(t.expression, float), np.asarray(m.expression, float))
             for t, m in zip(truth, stream) if m.face_present]
    if not pairs:
        return None
    err = np.abs(np.array([m - t for t, m in pairs]))
    worst = int(np.argmax(err.mean(axis=0)))
    return {"mean_abs": _r(float(np.median(err.mean(axis=1)))),
            "max_abs": _r(float(np.median(err.max(axis=1)))),
            "worst": EXPRESSION_NAMES[worst], "worst_mean_abs": _r(float(err[:, worst].mean()))}


COVER_SETTLE_S = 0.3      # after the cover goes on: the refixation and the detector's two frames


def score(patient: ScriptedPatient, track: ParamsTrack, summary: ClinicalSummary) -> dict:
    truth = patient.truth
    out: dict = {"signs_expected": sorted(truth["expected_signs"]),
                 "signs_reported": sorted(summary.signs()),
                 "findings": [f"{f.sign}: {f.detail}" for f in summary.findings],
                 "face_frames": summary.face_frames, "frames": summary.frames}
    out["signs_correct"] = out["signs_expected"] == out["signs_reported"]
    dev = summary.deviation
    h_true, v_true = truth["horizontal_deviation_deg"], truth["vertical_deviation_deg"]
    h, v = deviation_series(track)
    ok = np.isfinite(h) & np.isfinite(v)
    out["deviation"] = {
        "truth_h_deg": h_true, "truth_v_deg": v_true,
        "measured_h_deg": _r(dev.horizontal_deg), "measured_v_deg": _r(dev.vertical_deg),
        # the clip-level estimate's error, and the median of the per-frame errors
        "error_deg": _r(math.hypot(dev.horizontal_deg - h_true, dev.vertical_deg - v_true))
        if dev.frames else None,
        "frame_median_error_deg": _r(float(np.median(np.hypot(h[ok] - h_true, v[ok] - v_true))))
        if ok.any() else None,
        "confidence": dev.confidence,
    }
    out["mrd1"] = {}
    for side in ("right", "left"):
        eye = summary.lids.eye(side)
        t = truth["mrd1_mm"][side]
        out["mrd1"][side] = {"truth_mm": _r(t), "measured_mm": _r(eye.mrd1_mm),
                             "error_mm": _r(abs(eye.mrd1_mm - t)) if eye.open_frames else None,
                             "confidence": eye.confidence}
    out["mrd2_error_mm"] = {side: _r(abs(summary.lids.eye(side).mrd2_mm - truth["mrd2_mm"][side]))
                            for side in ("right", "left")}
    out["blinks"] = blink_match(patient.blinks, summary.lids.blinks)
    out["tracking"] = tracking_errors(patient, track)
    ny, ny_true = summary.nystagmus, truth["nystagmus"]
    out["nystagmus"] = {"present": ny.present, "frequency_hz": _r(ny.frequency_hz),
                        "amplitude_deg": _r(ny.amplitude_deg), "direction": ny.direction,
                        "waveform": ny.waveform, "confidence": ny.confidence}
    if ny_true:
        out["nystagmus"] |= {
            "truth": ny_true,
            "frequency_error_hz": _r(abs(ny.frequency_hz - ny_true["frequency_hz"])) if ny.present else None,
            "amplitude_error_rel": _r(abs(ny.amplitude_deg - ny_true["amplitude_deg"])
                                      / ny_true["amplitude_deg"]) if ny.present else None,
            "direction_correct": ny.direction == ny_true["direction"],
        }
    if truth.get("cover_test"):
        out["cover_test"] = cover_test_score(truth["cover_test"], track)
    return out


def cover_test_score(cover: dict, track: ParamsTrack) -> dict:
    """Was the covered eye seen as covered, and how far did the uncovered eye
    move to take up fixation (median over the cover, from SETTLE_S in, against
    the second before it)?"""
    covered_eye = cover["covered_eye"]
    other = track.eye("right" if covered_eye == "left" else "left")
    during = (track.t >= cover["start_s"] + COVER_SETTLE_S) & (track.t < cover["end_s"])
    before = (track.t >= cover["start_s"] - 1.0) & (track.t < cover["start_s"])
    moved = {axis: float(np.nanmedian(getattr(other, axis)[during])
                         - np.nanmedian(getattr(other, axis)[before]))
             for axis in ("yaw", "pitch")}
    truth = np.array([cover["refixation_yaw_deg"], cover["refixation_pitch_deg"]])
    got = np.array([moved["yaw"], moved["pitch"]])
    return {"covered_eye": covered_eye,
            "cover_found": _r(float(track.eye(covered_eye).covered[during].mean())),
            "refixation_truth_deg": [_r(v) for v in truth],
            "refixation_measured_deg": [_r(v) for v in got],
            "refixation_error_deg": _r(float(np.hypot(*(got - truth))))}
