"""What a face tracker sees on the avatar's eyes: commanded vs measured.

Renders sweeps of eye yaw, eye pitch, upper lid and lower lid (both eyes the
same command), tracks each render with MediaPipe FaceMesh (static image mode,
refined iris) and reports per eye (the patient's own left / right):
  iris_h    iris position within the opening, horizontal, 0 = inner corner,
            1 = outer corner
  iris_v    vertical, 0 = upper lid margin, 1 = lower lid margin (at the lid
            landmarks above/below the eye centre); null when the lids are shut
  aperture  lid opening / eye width (mean of three upper/lower lid pairs)
plus a least-squares line measured = slope * commanded + intercept per sweep
and eye, so a fitter can invert it and make the avatar reproduce a patient's
measurements. Prints JSON and saves it under benchmarks/results/.

    .venv/bin/python benchmarks/eye_calibration.py
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from realtime_mask.face_model.assets import load_face_model
from realtime_mask.params import NEUTRAL_LOWER_LID, NEUTRAL_UPPER_LID, EyeParams, MaskParams
from realtime_mask.render import AvatarRenderer

RESULTS = Path(__file__).resolve().parent / "results"

# FaceMesh indices per eye, by the patient's side (patient's left = image right).
EYES = {
    "left": dict(iris=473, inner=362, outer=263, upper=(385, 386, 387), lower=(380, 374, 373)),
    "right": dict(iris=468, inner=133, outer=33, upper=(160, 159, 158), lower=(144, 145, 153)),
}

MIN_APERTURE_FOR_V = 0.12

SWEEPS = {
    "yaw_deg": np.arange(-30.0, 30.1, 5.0),
    "pitch_deg": np.arange(-20.0, 20.1, 5.0),
    "upper_lid": np.array([-0.9, -0.6, -0.3, 0.0, 0.2, 0.4, 0.6, 0.75, 0.9, 1.1, 1.3]),
    "lower_lid": np.array([0.4, 0.6, 0.8, 0.95, 1.1, 1.3]),
}


def measure(pts: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for side, e in EYES.items():
        inner, outer, iris = pts[e["inner"]], pts[e["outer"]], pts[e["iris"]]
        axis = outer - inner
        width = float(np.linalg.norm(axis))
        h = float((iris - inner) @ axis / width ** 2)
        up = pts[list(e["upper"])]
        lo = pts[list(e["lower"])]
        up_y, lo_y = up[1, 1], lo[1, 1]
        aperture = float(np.mean(np.linalg.norm(lo - up, axis=1)) / width)
        # the iris position between the lids is meaningless when they are (nearly) shut
        v = float((iris[1] - up_y) / (lo_y - up_y)) if aperture > MIN_APERTURE_FOR_V else None
        out[side] = {"iris_h": round(h, 4), "iris_v": None if v is None else round(v, 4),
                     "aperture": round(aperture, 4)}
    return out


def line_fit(x: np.ndarray, y: np.ndarray) -> dict[str, float] | None:
    ok = np.isfinite(y)
    if ok.sum() < 3:
        return None
    slope, intercept = np.polyfit(x[ok], y[ok], 1)
    r = np.corrcoef(x[ok], y[ok])[0, 1]
    return {"slope": round(float(slope), 5), "intercept": round(float(intercept), 4),
            "r": round(float(r), 4), "n": int(ok.sum())}


def main() -> int:
    import mediapipe as mp

    model = load_face_model()
    t0 = time.perf_counter()
    report: dict = {"benchmark": "eye_calibration",
                    "neutral_eye": {"upper_lid": NEUTRAL_UPPER_LID, "lower_lid": NEUTRAL_LOWER_LID},
                    "sweeps": {}}
    with AvatarRenderer(model) as r, mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, refine_landmarks=True, max_num_faces=1) as fm:
        h, w = r.height, r.width
        for field, values in SWEEPS.items():
            rows = []
            for v in values:
                eye = replace(EyeParams(), **{field: float(v)})
                img = r.render(MaskParams(face_present=True, confidence=1.0,
                                          left_eye=eye, right_eye=eye))
                res = fm.process(img)
                if not res.multi_face_landmarks:
                    rows.append({"commanded": float(v), "tracked": False})
                    continue
                pts = np.array([(p.x * w, p.y * h) for p in res.multi_face_landmarks[0].landmark])
                rows.append({"commanded": float(v), "tracked": True, **measure(pts)})
            fits = {}
            x = np.array([row["commanded"] for row in rows if row["tracked"]])
            for side in EYES:
                for metric in ("iris_h", "iris_v", "aperture"):
                    y = np.array([np.nan if row[side][metric] is None else row[side][metric]
                                  for row in rows if row["tracked"]])
                    fits[f"{side}.{metric}"] = line_fit(x, y)
            report["sweeps"][field] = {"rows": rows, "fits": fits}
    report["seconds"] = round(time.perf_counter() - t0, 2)
    report["when"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    text = json.dumps(report, indent=1)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "eye_calibration.json").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
