"""An upper-lid check that does not use FaceMesh's lid points.

The MRD1 read-out comes from FaceMesh's lid and iris landmarks through the eye
calibration. On synthetic patients it reads the right eye's lid about 1.5 mm
higher than the left although both are drawn alike, and it shrinks lid moves
(lid_response: slope ~0.7). This program measures the lid from the pixels
instead, as a candidate for anchoring the read-out (as the corneal reflexes
anchor the deviation):

  - the iris is the limbus circle (tracking/limbus.py), its radius the ruler;
  - the eye's expected grey levels come from the centre row, which no lid
    reaches: a radial profile to each side (pupil, iris, limbal ring, sclera);
  - columns through the iris at 0.5-0.7 iris radii either side of the centre
    (clear of the pupil and the reflex) are scanned upwards: the lid starts
    where two samples in a row leave the expected profile by 30 % of the
    sclera-to-iris contrast;
  - FaceMesh's upper-lid polyline, shifted vertically onto those points,
    gives the lid's height at the iris centre (its shape, not its height).

Reported, per eye, as medians over every third frame with the eye open:
  synthetic  patients with known lids: the truth, the calibrated read-out,
             FaceMesh's lid above the limbus centre, and the image margin
             (millimetres, 11.7 mm iris)
  clips      the real clips: the read-out and the image margin

Usage: python benchmarks/lid_margin_check.py [--seeds 100,200,300] [--frames 200]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit  # noqa: E402

from realtime_mask.clinical.units import IRIS_RADIUS_MM  # noqa: E402
from realtime_mask.tracking.landmarks import EYE_CONTOURS  # noqa: E402
from realtime_mask.tracking.limbus import limbus_circle  # noqa: E402

STEP = 0.05                            # iris radii along a column
RADII = np.arange(0.0, 1.6, STEP)      # the centre row's radial profile
COLUMNS = (-0.7, -0.6, -0.5, 0.5, 0.6, 0.7)   # iris radii from the centre
REACH = 1.9                            # iris radii scanned above the centre
CONTRAST_SHARE, MIN_STEP = 0.3, 20.0   # grey levels off the expected profile
MIN_COLUMNS = 3
PATIENTS = {"normal_a": dict(sign="normal"),
            "ptosis_left_1mm": dict(sign="ptosis", ptosis_side="left", ptosis_mrd1_mm=1.0),
            "retraction_both_7mm": dict(sign="retraction", retraction_mrd1_mm=7.0)}


def _sample(gray: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return cv2.remap(gray, np.atleast_2d(x).astype(np.float32),
                     np.atleast_2d(y).astype(np.float32), cv2.INTER_LINEAR)


def upper_lid_margin(gray: np.ndarray, centre: np.ndarray, radius: float,
                     facemesh_upper: np.ndarray) -> float | None:
    """Height of the upper lid margin above the limbus centre, in limbus
    radii, or None where fewer than MIN_COLUMNS columns find it.
    facemesh_upper: FaceMesh's upper lid polyline (pixels, sorted by x)."""
    cx, cy = centre
    row = _sample(gray, np.r_[cx - RADII * radius, cx + RADII * radius],
                  np.full(2 * len(RADII), cy))[0]
    left, right = row[:len(RADII)], row[len(RADII):]
    both = np.r_[left, right]
    iris = float(np.median(both[np.tile((RADII > 0.5) & (RADII < 0.75), 2)]))
    sclera = float(np.median(both[np.tile((RADII > 1.15) & (RADII < 1.45), 2)]))
    tolerance = max(CONTRAST_SHARE * abs(sclera - iris), MIN_STEP)
    up = np.arange(0.0, REACH, STEP)
    xs = cx + np.array(COLUMNS)[:, None] * radius + 0 * up
    profiles = _sample(gray, xs, cy - up[None, :] * radius + 0 * xs)
    found = []
    for dx, x, profile in zip(COLUMNS, xs[:, 0], profiles):
        expected = np.interp(np.hypot(dx, up), RADII, left if dx < 0 else right)
        off = np.abs(profile - expected)
        if np.median(off[:3]) > 0.5 * tolerance:      # the lid covers the column's start
            continue
        lid = np.flatnonzero((off[:-1] > tolerance) & (off[1:] > tolerance))
        if not len(lid):
            continue
        k = lid[0]
        while k > 0 and off[k - 1] > 0.5 * tolerance:  # back to where it starts leaving
            k -= 1
        found.append((x, cy - (up[k] - 0.5 * STEP) * radius))
    if len(found) < MIN_COLUMNS:
        return None
    f = np.array(found)

    def facemesh(x):
        return np.interp(x, facemesh_upper[:, 0], facemesh_upper[:, 1])

    lid_y = facemesh(cx) + np.median(f[:, 1] - facemesh(f[:, 0]))
    return float((cy - lid_y) / radius)


def _eye_readings(rgb: np.ndarray, landmarks) -> dict[str, tuple[float, float] | None]:
    """Per eye: (FaceMesh lid above the limbus centre, image margin), limbus radii."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    pts = landmarks.points[:, :2].astype(np.float64)
    out = {}
    for side, c in EYE_CONTOURS.items():
        iris = pts[c.iris[0]]
        radius = float(np.linalg.norm(pts[list(c.iris[1:])] - iris, axis=1).mean())
        fit = limbus_circle(gray, iris, radius)
        upper = pts[[c.inner, *c.upper, c.outer]]
        upper = upper[np.argsort(upper[:, 0])]
        if fit is None:
            out[side] = None
            continue
        (cx, cy), r = fit
        margin = upper_lid_margin(gray, fit[0], r, upper)
        out[side] = ((cy - np.interp(cx, upper[:, 0], upper[:, 1])) / r,
                     np.nan if margin is None else margin)
    return out


class _Recorder:
    """Runs frames through a FrameMasker and keeps the landmarks it tracked."""

    def __init__(self, masker):
        self.masker, self.landmarks = masker, None
        track = masker.tracker.track

        def keep(rgb):
            self.landmarks = track(rgb)
            return self.landmarks
        masker.tracker.track = keep


def _medians(rows: list[tuple[float, ...]]) -> list[float | None]:
    a = np.array(rows, float).reshape(-1, 4)
    return [round(float(np.nanmedian(col)) * IRIS_RADIUS_MM, 2)
            if np.isfinite(col).any() else None for col in a.T]


def synthetic(model, seeds: list[int]) -> dict:
    from realtime_mask.pipeline import FrameMasker
    from realtime_mask.synth import PatientScript, script_patient
    from realtime_mask.synth.render import PatientRenderer

    out = {}
    for name, kw in PATIENTS.items():
        for seed in seeds:
            patient = script_patient(PatientScript(seed=seed, duration_s=4.0, **kw))
            rows = {side: [] for side in EYE_CONTOURS}
            with PatientRenderer(model, seed) as person, FrameMasker(model=model) as masker:
                patient = person.realised(patient)
                rec = _Recorder(masker)
                for i, (rgb, t) in enumerate(person.frames(patient)):
                    params = masker.process(rgb, t).params
                    if i % 3 or not params.face_present:
                        continue
                    for side, got in _eye_readings(rgb, rec.landmarks).items():
                        truth = getattr(patient.frames[i], f"{side}_eye")
                        if got is not None and truth.blink == 0:
                            rows[side].append((truth.upper_lid,
                                               getattr(params, f"{side}_eye").upper_lid, *got))
            out[f"{name}@{seed}"] = {
                side: dict(zip(("truth_mm", "readout_mm", "facemesh_over_limbus_mm",
                                "image_margin_mm"), _medians(r)), frames=len(r))
                for side, r in rows.items()}
    errors = {k: [] for k in ("readout_mm", "facemesh_over_limbus_mm", "image_margin_mm")}
    for eyes in out.values():
        for e in eyes.values():
            for k in errors:
                if e[k] is not None:
                    errors[k].append(abs(e[k] - e["truth_mm"]))
    return {"patients": out,
            "median_abs_error_mm": {k: round(float(np.median(v)), 2) for k, v in errors.items()}}


def clips(model, frames: int) -> dict:
    import av

    from realtime_mask.pipeline import FrameMasker

    out = {}
    for path in sorted((SHARED_DATA / "videos").glob("*")):
        if "noface" in path.name:
            continue
        rows = {side: [] for side in EYE_CONTOURS}
        with FrameMasker(model=model) as masker, av.open(str(path)) as container:
            rec = _Recorder(masker)
            for i, frame in enumerate(container.decode(video=0)):
                if i >= frames:
                    break
                rgb = frame.to_ndarray(format="rgb24")
                params = masker.process(rgb, i / 30).params
                if i % 3 or not params.face_present:
                    continue
                for side, got in _eye_readings(rgb, rec.landmarks).items():
                    eye = getattr(params, f"{side}_eye")
                    if eye.blink <= 0.3:
                        rows[side].append((np.nan, eye.upper_lid, *(got or (np.nan, np.nan))))
        out[path.name] = {side: {"readout_mm": m[1], "image_margin_mm": m[3],
                                 "frames_with_margin": int(np.isfinite(np.array(r)[:, 3]).sum())
                                 if r else 0, "frames": len(r)}
                          for side, r in rows.items() for m in [_medians(r)]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="100,200,300")
    ap.add_argument("--frames", type=int, default=200, help="frames per real clip")
    args = ap.parse_args()
    from realtime_mask.face_model.assets import load_face_model

    model = load_face_model()
    emit("lid_margin_check", {"synthetic": synthetic(model, [int(s) for s in args.seeds.split(",")]),
                              "clips": clips(model, args.frames)})


if __name__ == "__main__":
    main()
