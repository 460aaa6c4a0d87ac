"""An iris-centre check that does not use FaceMesh's iris model.

FaceMesh's iris landmarks are learnt; on rendered eyes their centre sits below
the true one, and the eye calibration (learnt on renders) corrects for that.
Whether real eyes need the same correction cannot be read from FaceMesh itself,
so here a plain geometric measure stands beside it: a circle fitted to the
limbus edges (the sclera-to-iris step on rays to the left and right of
FaceMesh's centre, where the lids do not cover the limbus).

Reported, per eye and frame, then as medians:
  renders  the mean avatar at known gaze and lid heights: the error of both
           centres against the truth (is the limbus fit itself unbiased?)
  clips    the real clips: limbus centre minus FaceMesh centre, and the upper
           lid's height above each centre as MRD1 in millimetres (FaceMesh's lid
           points at the iris column; 11.7 mm iris)

Usage: python benchmarks/limbus_check.py [--frames 200]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit  # noqa: E402

from realtime_mask.tracking.limbus import limbus_circle  # noqa: E402

CLIPS = ("pyfeat_WolfgangLanger_Pexels.mp4", "pyfeat_single_face.mp4", "liveportrait_d0.mp4",
         "liveportrait_d3.mp4", "liveportrait_d6.mp4", "liveportrait_d9.mp4",
         "grid_lbbc2a.mpg", "grid_bbaf2n.mpg")
MM_PER_IRIS_RADIUS = 5.85


def eye_rows(rgb: np.ndarray, landmarks) -> dict[str, dict]:
    """Per eye: FaceMesh's centre and radius, the limbus circle, and the upper
    lid's height above each centre as MRD1 in mm (FaceMesh's lid points, read
    at that centre's column)."""
    from realtime_mask.face_model.eyes import CONTOURS

    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    pts = landmarks.points[:, :2].astype(np.float64)
    out = {}
    for side, c in CONTOURS.items():
        iris = pts[list(c.iris)]
        fm_centre, fm_r = iris[0], float(np.linalg.norm(iris[1:] - iris[0], axis=1).mean())
        fit = limbus_circle(gray, fm_centre, fm_r)
        if fit is None:
            continue
        limbus, limbus_r = fit.centre, fit.radius
        lid = pts[[c.inner, *c.upper, c.outer]]
        lid = lid[np.argsort(lid[:, 0])]

        def mrd1_mm(centre: np.ndarray, radius: float) -> float:
            lid_y = np.interp(centre[0], lid[:, 0], lid[:, 1])
            return float((centre[1] - lid_y) / radius * MM_PER_IRIS_RADIUS)

        out[side] = {"fm": fm_centre, "fm_r": fm_r, "limbus": limbus,
                     "mrd1_limbus": mrd1_mm(limbus, limbus_r), "mrd1_fm": mrd1_mm(fm_centre, fm_r)}
    return out


def check_renders() -> dict:
    from realtime_mask.face_model.assets import load_face_model
    from realtime_mask.params import EyeParams, HeadPose, MaskParams
    from realtime_mask.render import AvatarRenderer
    from realtime_mask.tracking import MediaPipeTracker

    head = HeadPose()
    errors = {"limbus": [], "facemesh": []}
    with AvatarRenderer(load_face_model()) as r, MediaPipeTracker(static_image_mode=True) as t:
        for upper in (0.6, 0.9, 1.2):
            for yaw, pitch in ((0, 0), (15, 0), (-15, 0), (0, 8), (0, -8)):
                eye = EyeParams(yaw_deg=yaw, pitch_deg=pitch, upper_lid=upper, lower_lid=0.9)
                rgb = r.render(MaskParams(face_present=True, confidence=1.0, head=head,
                                          left_eye=eye, right_eye=eye))
                lm = t.track(rgb)
                if lm is None:
                    continue
                for side, row in eye_rows(rgb, lm).items():
                    eb = r.lids["L" if side == "left" else "R"].eyeball
                    truth = r.project(eb.iris_centre(yaw, pitch), head)
                    top = r.project(eb.iris_centre(yaw, pitch) + [0, eb.iris_radius, 0], head)
                    radius = abs(top[1] - truth[1])
                    errors["limbus"].append((row["limbus"] - truth) / radius)
                    errors["facemesh"].append((row["fm"] - truth) / radius)
    return {f"{k}_centre_error_iris_radii": {
        "x_median": round(float(np.median(np.array(v)[:, 0])), 3),
        "y_median_positive_down": round(float(np.median(np.array(v)[:, 1])), 3), "n": len(v)}
        for k, v in errors.items()}


def check_clip(path: Path, frames: int) -> dict:
    from realtime_mask.media import read_video
    from realtime_mask.tracking import MediaPipeTracker

    dy, mrd_limbus, mrd_fm = [], [], []
    with MediaPipeTracker() as t:
        for i, (rgb, _) in enumerate(read_video(path)):
            if i >= frames:
                break
            lm = t.track(rgb)
            if lm is None:
                continue
            for row in eye_rows(rgb, lm).values():
                dy.append((row["limbus"][1] - row["fm"][1]) / row["fm_r"])
                mrd_limbus.append(row["mrd1_limbus"])
                mrd_fm.append(row["mrd1_fm"])
    if not dy:
        return {"clip": path.name, "eyes_measured": 0}
    return {"clip": path.name, "eyes_measured": len(dy),
            "limbus_minus_facemesh_centre_y_iris_radii": round(float(np.median(dy)), 3),
            "mrd1_mm_over_limbus_centre": round(float(np.median(mrd_limbus)), 2),
            "mrd1_mm_over_facemesh_centre": round(float(np.median(mrd_fm)), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    args = ap.parse_args()
    clips = [check_clip(SHARED_DATA / "videos" / c, args.frames) for c in CLIPS
             if (SHARED_DATA / "videos" / c).exists()]
    measured = [c for c in clips if c["eyes_measured"]]
    emit("limbus_check", {
        "renders": check_renders(),
        "clips": clips,
        "median_over_clips": {
            k: round(float(np.median([c[k] for c in measured])), 3)
            for k in ("limbus_minus_facemesh_centre_y_iris_radii",
                      "mrd1_mm_over_limbus_centre", "mrd1_mm_over_facemesh_centre")}
        if measured else {},
    })


if __name__ == "__main__":
    main()
