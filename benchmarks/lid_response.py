"""How the lid read-out follows lids moved by known amounts.

Synthetic people (random ICT faces, eyes straight) hold a sequence of upper-lid
and then lower-lid heights; each frame is tracked and fitted as a video
session. Per face and eye this reports the slope of read against true lid
height (1 = follows fully), its correlation, and the highest upper lid the
read-out reaches, both raw (MediaPipe + geometry) and after the eye
calibration that MaskParams carry. Lid heights are in iris radii above
(upper) and below (lower) the iris centre; x 5.85 gives MRD1/MRD2 in mm.

Usage: python benchmarks/lid_response.py [--faces 4]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit  # noqa: E402

FIRST_SEED = 300
REST_UPPER, REST_LOWER = 0.75, 0.95
UPPER_LEVELS = (0.75, 0.3, 0.0, 0.75, 1.05, 1.3, 0.75, 0.15, 0.55, 1.2)
LOWER_LEVELS = (0.95, 0.7, 0.95, 1.2, 0.95, 0.6, 1.3, 0.95, 0.8, 1.1)
HOLD, SETTLE = 12, 6          # frames per level; the first SETTLE are not scored
SIDES = ("left", "right")


def sweep(model, calibration, seed: int) -> dict:
    from realtime_mask.face_model.eye_calibration import IDENTITY
    from realtime_mask.face_model.fitter import FaceFitter
    from realtime_mask.params import EyeParams, MaskParams
    from realtime_mask.synth.render import PatientRenderer
    from realtime_mask.tracking import MediaPipeTracker

    fitter = FaceFitter(model, eye_calibration=IDENTITY)
    t = 0.0
    out = {}
    with PatientRenderer(model, seed) as person, MediaPipeTracker() as tracker:
        for lid, levels in (("upper", UPPER_LEVELS), ("lower", LOWER_LEVELS)):
            truth, raw = {s: [] for s in SIDES}, {s: [] for s in SIDES}
            for level in levels:
                upper, lower = (level, REST_LOWER) if lid == "upper" else (REST_UPPER, level)
                eye = EyeParams(0.0, 0.0, upper, lower)
                params = MaskParams(face_present=True, confidence=1.0, left_eye=eye, right_eye=eye)
                # the truth is the lid as this face draws it (some faces stop short)
                drawn = person.shown(params)
                for k in range(HOLD):
                    t += 1 / 30
                    params.timestamp = t
                    lm = tracker.track(person.render(params))
                    fitted = fitter.fit(lm, t) if lm is not None else None
                    if k < SETTLE or fitted is None or not fitted.face_present:
                        continue
                    for s in SIDES:
                        truth[s].append(getattr(getattr(drawn, f"{s}_eye"), f"{lid}_lid"))
                        raw[s].append(getattr(fitted, f"{s}_eye"))
            for s in SIDES:
                truth[s] = np.array(truth[s])
                reads = {"raw": np.array([getattr(e, f"{lid}_lid") for e in raw[s]]),
                         "calibrated": np.array([getattr(calibration.apply(s, e), f"{lid}_lid")
                                                 for e in raw[s]])}
                out[f"{s}.{lid}"] = {
                    name: {"slope": round(float(np.polyfit(truth[s], r, 1)[0]), 3),
                           "r": round(float(np.corrcoef(truth[s], r)[0, 1]), 3),
                           "highest": round(float(r.max()), 3)}
                    for name, r in reads.items()}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=4)
    args = ap.parse_args()
    from realtime_mask.face_model.assets import load_face_model
    from realtime_mask.face_model.eye_calibration import load_eye_calibration

    model = load_face_model()
    calibration = load_eye_calibration(model)
    faces = {}
    for seed in range(FIRST_SEED, FIRST_SEED + args.faces):
        faces[seed] = sweep(model, calibration, seed)
        print(seed, {k: v["calibrated"]["slope"] for k, v in faces[seed].items()}, file=sys.stderr)
    summary = {}
    for key in next(iter(faces.values())):
        for name in ("raw", "calibrated"):
            slopes = [f[key][name]["slope"] for f in faces.values()]
            summary.setdefault(key, {})[name] = {
                "median_slope": round(float(np.median(slopes)), 3),
                "slope_range": [min(slopes), max(slopes)],
                "median_highest": round(float(np.median([f[key][name]["highest"]
                                                         for f in faces.values()])), 3)}
    emit("lid_response", {"faces": args.faces, "upper_levels": UPPER_LEVELS,
                          "lower_levels": LOWER_LEVELS, "summary": summary, "per_face": faces})
    return 0


if __name__ == "__main__":
    sys.exit(main())
