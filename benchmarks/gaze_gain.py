"""How much of a held eye movement the read-out shows.

Rendered faces look at a grid of gaze positions (yaw -10/0/+10, pitch
-15..+15 degrees), each held for a few frames (a saccade) or about a second
(a gaze-position exam), with both eyes moving together or one eye alone. The
masker reads them as a video session, and the slope of read-out against truth
is the gain per eye and axis (1 = faithful, below 1 = movements look smaller).

Usage: python benchmarks/gaze_gain.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit  # noqa: E402

HOLDS = {"saccade_4_frames": 4, "held_0.9_s": 27}
PITCHES = (-15, -8, 0, 8, 15)
YAWS = (-10, 0, 10)
PATIENT_SEED = 101           # a synthetic person (not the calibration face)


def gains(renderer, model, hold: int, one_eye: bool) -> dict:
    from realtime_mask.params import EyeParams, MaskParams
    from realtime_mask.pipeline import FrameMasker

    still = EyeParams(upper_lid=0.75, lower_lid=0.95)
    poses = [(0, 0)] * 30 + [(y, p) for _ in range(2) for p in PITCHES for y in YAWS
                             for _ in range(hold)]
    rows = []
    with FrameMasker(avatar="shared", model=model) as masker:
        for i, (yaw, pitch) in enumerate(poses):
            eye = EyeParams(yaw_deg=yaw, pitch_deg=pitch, upper_lid=0.75, lower_lid=0.95)
            rgb = renderer.render(MaskParams(face_present=True, confidence=1.0, left_eye=eye,
                                             right_eye=still if one_eye else eye))
            got = masker.process(rgb, i / 30).params
            if i >= 30 and (i - 30) % hold == hold - 1 and got.face_present:
                rows.append((yaw, pitch, got.left_eye.yaw_deg, got.left_eye.pitch_deg,
                             got.right_eye.yaw_deg, got.right_eye.pitch_deg))
    a = np.array(rows)

    def slope(x: int, y: int) -> float:
        return round(float(np.polyfit(a[:, x], a[:, y], 1)[0]), 3)

    right = "still_right_eye" if one_eye else "right"
    return {"left": {"yaw": slope(0, 2), "pitch": slope(1, 3)},
            right: {"yaw": slope(0, 4), "pitch": slope(1, 5)}}


def main() -> None:
    from realtime_mask.face_model.assets import load_face_model
    from realtime_mask.render import AvatarRenderer
    from realtime_mask.synth.render import random_appearance, random_identity

    model = load_face_model()
    faces = {"mean_face": {},
             f"synthetic_person_{PATIENT_SEED}": dict(
                 identity=random_identity(PATIENT_SEED, model.identity_deltas.shape[0]),
                 appearance=random_appearance(PATIENT_SEED))}
    result = {}
    for name, kw in faces.items():
        with AvatarRenderer(model, **kw) as renderer:
            result[name] = {
                f"both_eyes_{label}": gains(renderer, model, hold, one_eye=False)
                for label, hold in HOLDS.items()}
            result[name]["left_eye_alone_held_0.9_s"] = gains(renderer, model, 27, True)
    emit("gaze_gain", {"faces": result})


if __name__ == "__main__":
    main()
