"""Where a held eye movement gets lost on its way into MaskParams.

`gaze_gain` shows that held vertical gaze reads at about a third of its size.
This program follows one held movement through each stage, on the rendered
mean face with the head still (eyes at +-15 degrees of pitch, then of yaw, each
held 0.9 s; the last 7 frames of each hold are read):

  iris_pixel_gain     FaceMesh's iris-centre displacement / the true projected one
  rigid_landmark_share  how far the fitter's rigid landmarks move, as a share of
                      the iris's own displacement (median over the rigid set):
                      FaceMesh moves its whole upper face with the eyes
  eyeball_centre_share  how far the fitted head frame carries the eyeball centre,
                      as a share of the iris displacement
  head_rotation_deg_per_deg  fitted head rotation per degree of eye rotation
  readout_gain        slope of the read-out against the truth, three ways:
                      raw with the corner correction held at its start value,
                      raw with the corner low-pass as it runs, and calibrated
                      (what MaskParams carry)

Usage: python benchmarks/gaze_loss.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit  # noqa: E402

HOLD = 27                  # frames (0.9 s at 30 fps)
READ = 7                   # last frames of each hold that are read
ANGLE = 15.0
IRIS = {"left": 473, "right": 468}   # FaceMesh iris-centre landmarks


def script() -> list[float]:
    """Eye angle per frame: 1 s straight ahead, then +, 0, -, 0, each held."""
    return [0.0] * 30 + [a for a in (ANGLE, 0.0, -ANGLE, 0.0) for _ in range(HOLD)]


def read_frames(n: int) -> np.ndarray:
    """Indices of the frames that are read: the last READ of each hold."""
    idx = np.arange(n)
    return idx[(idx >= 30) & ((idx - 30) % HOLD >= HOLD - READ)]


def run(frames, angles, axis: str, calibrated: bool, corner_lag: bool, model, renderer) -> dict:
    from realtime_mask.face_model import eyes as eye_module
    from realtime_mask.face_model.eye_calibration import IDENTITY
    from realtime_mask.face_model.fitter import FaceFitter
    from realtime_mask.params import HeadPose
    from realtime_mask.tracking import MediaPipeTracker

    tau = eye_module.CORNER_TAU_S
    if not corner_lag:          # the corner correction stays where a session starts
        eye_module.CORNER_TAU_S = 1e9
    try:
        fitter = FaceFitter(model) if calibrated else FaceFitter(model, eye_calibration=IDENTITY)
        rows = []
        with MediaPipeTracker() as tracker:
            for i, rgb in enumerate(frames):
                lm = tracker.track(rgb)
                if lm is None:
                    raise SystemExit(f"FaceMesh lost the rendered face at frame {i}")
                got = fitter.fit(lm, i / 30)
                head = fitter.last_head
                centres = {s: head.image_xy(g.centre) * (1, -1)
                           for s, g in fitter.eyes.geometry.items()}
                row = {"read": [getattr(got, f"{s}_eye").pitch_deg if axis == "pitch"
                                else getattr(got, f"{s}_eye").yaw_deg for s in ("left", "right")],
                       "head": got.head.pitch_deg if axis == "pitch" else got.head.yaw_deg,
                       "iris": [lm.points[IRIS[s], :2] for s in ("left", "right")],
                       "rigid": lm.points[fitter.rigid, :2],
                       "centre": [centres[s] for s in ("left", "right")]}
                rows.append(row)
    finally:
        eye_module.CORNER_TAU_S = tau
    keep = read_frames(len(frames))
    a = np.asarray(angles)[keep]
    k = 1 if axis == "pitch" else 0           # image coordinate that moves

    def slope(values) -> float:
        return float(np.polyfit(a, np.asarray(values, float), 1)[0])

    def true_px(side: str) -> list[float]:
        eyeball = renderer.lids[side].eyeball
        return [renderer.project(eyeball.iris_centre(*((0.0, g) if axis == "pitch" else (g, 0.0))),
                                 HeadPose())[k] for g in a]

    out = {"readout_gain": [round(slope([rows[i]["read"][j] for i in keep]), 3) for j in (0, 1)],
           "head_rotation_deg_per_deg": round(slope([rows[i]["head"] for i in keep]), 3)}
    iris_px = [slope([rows[i]["iris"][j][k] for i in keep]) for j in (0, 1)]
    out["iris_pixel_gain"] = [round(iris_px[j] / slope(true_px(side)), 3)
                              for j, side in enumerate(("L", "R"))]
    mean_iris = float(np.mean(iris_px))
    rigid = np.median([slope([rows[i]["rigid"][n, k] for i in keep])
                       for n in range(len(fitter.rigid))])
    out["rigid_landmark_share"] = round(float(rigid / mean_iris), 3)
    out["eyeball_centre_share"] = [round(slope([rows[i]["centre"][j][k] for i in keep])
                                         / iris_px[j], 3) for j in (0, 1)]
    return out


def main() -> None:
    from realtime_mask.face_model.assets import load_face_model
    from realtime_mask.params import EyeParams, MaskParams
    from realtime_mask.render import AvatarRenderer

    model = load_face_model()
    result = {}
    with AvatarRenderer(model) as renderer:
        for axis in ("pitch", "yaw"):
            angles = script()
            frames = []
            for ang in angles:
                yaw, pitch = (0.0, ang) if axis == "pitch" else (ang, 0.0)
                eye = EyeParams(yaw_deg=yaw, pitch_deg=pitch, upper_lid=0.75, lower_lid=0.95)
                frames.append(renderer.render(MaskParams(face_present=True, confidence=1.0,
                                                         left_eye=eye, right_eye=eye)))
            stages = run(frames, angles, axis, calibrated=False, corner_lag=False,
                         model=model, renderer=renderer)
            with_lag = run(frames, angles, axis, calibrated=False, corner_lag=True,
                           model=model, renderer=renderer)
            calibrated = run(frames, angles, axis, calibrated=True, corner_lag=True,
                             model=model, renderer=renderer)
            gains = {"raw_corner_held": stages.pop("readout_gain"),
                     "raw_corner_lowpass": with_lag["readout_gain"],
                     "calibrated": calibrated["readout_gain"]}
            result[axis] = {**stages, "readout_gain_left_right": gains}
            print(axis, result[axis], file=sys.stderr)
    emit("gaze_loss", {"face": "mean", "held_s": HOLD / 30, "angle_deg": ANGLE,
                       "stages": result})


if __name__ == "__main__":
    main()
