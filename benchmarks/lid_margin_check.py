"""An upper-lid check that does not use FaceMesh's lid points.

The MRD1 read-out comes from FaceMesh's lid and iris landmarks through the eye
calibration. On synthetic patients it reads the right eye's lid about 1.5 mm
higher than the left although both are drawn alike, and it shrinks lid moves
(lid_response: slope ~0.7). This program measures the lid from the pixels
instead (tracking/lid_margin.py, which the lid anchor uses), beside FaceMesh's
lid points above the limbus circle (tracking/limbus.py, checked as the
pipeline checks it).

Reported, per eye, as medians over every third frame with the eye open:
  synthetic  patients with known lids: the truth, the read-out (MaskParams,
             so anchored to the image margin where steady) and the same
             without the anchor's offset,
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
from fidelity import PATIENTS as FIDELITY_PATIENTS  # noqa: E402

from realtime_mask.clinical.units import IRIS_RADIUS_MM  # noqa: E402
from realtime_mask.tracking.eye_image import checked_limbus  # noqa: E402
from realtime_mask.tracking.landmarks import EYE_CONTOURS  # noqa: E402
from realtime_mask.tracking.lid_margin import upper_lid_margin  # noqa: E402

PATIENTS = {name: FIDELITY_PATIENTS[name]
            for name in ("normal_a", "ptosis_left_1mm", "retraction_both_7mm")}


def _eye_readings(rgb: np.ndarray, landmarks) -> dict[str, tuple[float, float] | None]:
    """Per eye: (FaceMesh lid above the limbus centre, image margin), limbus radii."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    pts = landmarks.points[:, :2].astype(np.float64)
    out = {}
    for side, c in EYE_CONTOURS.items():
        iris = pts[c.iris[0]]
        radius = float(np.linalg.norm(pts[list(c.iris[1:])] - iris, axis=1).mean())
        fit = checked_limbus(gray, iris, radius)
        upper = pts[[c.inner, *c.upper, c.outer]]
        upper = upper[np.argsort(upper[:, 0])]
        if fit is None:
            out[side] = None
            continue
        (cx, cy), r = fit.centre, fit.radius
        margin = upper_lid_margin(gray, (fit.centre, fit.radius), upper)
        out[side] = ((cy - np.interp(cx, upper[:, 0], upper[:, 1])) / r,
                     np.nan if margin is None else margin)
    return out


SYNTHETIC_COLUMNS = ("truth_mm", "readout_mm", "readout_unanchored_mm",
                     "facemesh_over_limbus_mm", "image_margin_mm")


class _Recorder:
    """Runs frames through a FrameMasker and keeps the landmarks it tracked."""

    def __init__(self, masker):
        self.masker, self.landmarks = masker, None
        track = masker.tracker.track

        def keep(rgb):
            self.landmarks = track(rgb)
            return self.landmarks
        masker.tracker.track = keep


def _medians(rows: list[tuple[float, ...]], width: int) -> list[float | None]:
    a = np.array(rows, float).reshape(-1, width)
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
                        eye = getattr(params, f"{side}_eye")
                        # the read-out without the lid anchor's offset
                        offset = masker.fitter.lid_anchor.offset[side] if eye.lid_anchored else 0.0
                        if got is not None and truth.blink == 0:
                            rows[side].append((truth.upper_lid, eye.upper_lid,
                                               eye.upper_lid - (1.0 - eye.blink) * offset, *got))
            out[f"{name}@{seed}"] = {
                side: dict(zip(SYNTHETIC_COLUMNS, _medians(r, len(SYNTHETIC_COLUMNS))),
                           frames=len(r))
                for side, r in rows.items()}
    errors = {k: [] for k in SYNTHETIC_COLUMNS[1:]}
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
                          for side, r in rows.items() for m in [_medians(r, 4)]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="100,200,300")
    ap.add_argument("--frames", type=int, default=200, help="frames per real clip")
    args = ap.parse_args()
    from realtime_mask.face_model.assets import load_face_model

    model = load_face_model()
    seeds = [int(s) for s in args.seeds.split(",")]
    emit("lid_margin_check", {"synthetic": synthetic(model, seeds), "clips": clips(model, args.frames)})


if __name__ == "__main__":
    main()
