"""How the read-out answers a quick eye movement, stage by stage.

A nystagmus-like swing (2 degrees peak-to-peak at 4 Hz, or --hz/--p2p) is drawn
about held gaze positions, horizontal and vertical, on a still head, and the
masker reads it as a video session. At the swing's frequency (cross-spectrum
with the drawn angle) each eye's response is read at four stages:

  iris       the iris centre the read-out uses (FaceMesh's, with the limbus's
             quick horizontal part: tracking/iris_motion.py), px per degree
  centre     the eyeball centre it is read against (face_model/eyes.py),
             px per degree: a head-fixed point should not move at all
  raw        the gaze read-out before the eye calibration, degrees per degree
  reported   the MaskParams gaze, degrees per degree (1 = faithful)

plus `drawn`, the iris centre's own px per degree from the renderer. The
gains are complex; each comes as magnitude and phase (degrees, + = leads).

`head_swing`: the other way round, the eyes held still in the head while the
head swings by the same amount (yaw or pitch); each eye's reported angle on
that axis per degree of head movement, which should be 0.

Faces: the shared avatar (what the doctor's picture is re-tracked from) and a
synthetic person (a patient's face, what MaskParams are read from).

Usage: python benchmarks/quick_gain.py [--hz 4 --p2p 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from scipy.signal import csd, welch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit  # noqa: E402

FPS = 30.0
SETTLE_S = 2.0            # held still first, and left out of the spectra
SWING_S = 8.0
POSITIONS = {"yaw": (-10.0, 0.0, 10.0), "pitch": (-5.0, 0.0, 5.0)}
PATIENT_SEED = 101        # as benchmarks/gaze_gain.py
SIDES = {"left": "L", "right": "R"}


def response(drawn: np.ndarray, read: np.ndarray, hz: float) -> complex:
    """read / drawn at hz (4 s Welch windows)."""
    n = int(4 * FPS)
    f, pxy = csd(drawn, read, fs=FPS, nperseg=n)
    _, pxx = welch(drawn, fs=FPS, nperseg=n)
    k = int(np.argmin(np.abs(f - hz)))
    return complex(pxy[k] / pxx[k])


def polar(g: complex) -> list[float]:
    return [round(abs(g), 3), round(float(np.degrees(np.angle(g))), 1)]


def swing(renderer, model, axis: str, held: float, hz: float, p2p: float) -> dict:
    from realtime_mask.params import EyeParams, MaskParams
    from realtime_mask.pipeline import FrameMasker
    from realtime_mask.render.renderer import iris_point
    from realtime_mask.tracking.landmarks import EYE_CONTOURS

    n_settle, n = int(SETTLE_S * FPS), int((SETTLE_S + SWING_S) * FPS)
    angles = [held + (p2p / 2 * np.sin(2 * np.pi * hz * (i - n_settle) / FPS)
                      if i >= n_settle else 0.0) for i in range(n)]
    rows = {side: [] for side in SIDES}   # (angle, drawn px, iris px, centre px, raw, reported)
    img_axis = 0 if axis == "yaw" else 1
    sign = 1.0 if axis == "yaw" else -1.0   # pixels run down, the read-out's y (and a + pitch) up
    with FrameMasker(avatar="shared", model=model) as masker:
        eyes = masker.fitter.eyes
        centres, raws = {}, {}
        eyeball_centre, calibrate = eyes._eyeball_centre, masker.fitter.eye_calibration.apply

        def recorded_centre(side, *args):
            centres[side] = eyeball_centre(side, *args)
            return centres[side]

        def recorded_raw(side, eye):
            raws[side] = getattr(eye, f"{axis}_deg")
            return calibrate(side, eye)

        eyes._eyeball_centre = recorded_centre       # this session's instances only
        masker.fitter.eye_calibration = SimpleNamespace(apply=recorded_raw)
        for i, angle in enumerate(angles):
            eye = EyeParams(yaw_deg=angle if axis == "yaw" else 0.0,
                            pitch_deg=angle if axis == "pitch" else 0.0,
                            upper_lid=0.75, lower_lid=0.95)
            params = MaskParams(timestamp=i / FPS, face_present=True, confidence=1.0,
                                left_eye=eye, right_eye=eye)
            rgb = renderer.render(params)
            landmarks = masker._track(rgb)
            got = masker._fit(rgb, landmarks, i / FPS) if landmarks is not None else None
            if got is None or not got.face_present or i < n_settle:
                continue
            for side, s in SIDES.items():
                c = EYE_CONTOURS[side].iris[0]
                drawn_px = renderer.project(iris_point(renderer.lids[s].eyeball, eye),
                                            params.head)[img_axis]
                rows[side].append((angle, sign * drawn_px, sign * landmarks.points[c, img_axis],
                                   centres[side][img_axis], raws[side],
                                   getattr(getattr(got, f"{side}_eye"), f"{axis}_deg")))
    out = {}
    for side, r in rows.items():
        a = np.array(r)
        out[side] = {name: polar(response(a[:, 0], a[:, k], hz))
                     for k, name in ((1, "drawn"), (2, "iris"), (3, "centre"), (4, "raw"),
                                     (5, "reported"))}
    return out


def head_swing(renderer, model, axis: str, hz: float, p2p: float) -> dict:
    from realtime_mask.params import EyeParams, HeadPose, MaskParams
    from realtime_mask.pipeline import FrameMasker

    n_settle, n = int(SETTLE_S * FPS), int((SETTLE_S + SWING_S) * FPS)
    eye = EyeParams(upper_lid=0.75, lower_lid=0.95)
    angles, reads = [], []
    with FrameMasker(avatar="shared", model=model) as masker:
        for i in range(n):
            angle = p2p / 2 * np.sin(2 * np.pi * hz * (i - n_settle) / FPS) if i >= n_settle else 0.0
            head = HeadPose(yaw_deg=angle if axis == "yaw" else 0.0,
                            pitch_deg=angle if axis == "pitch" else 0.0)
            got = masker.measure(renderer.render(MaskParams(
                timestamp=i / FPS, face_present=True, confidence=1.0, head=head,
                left_eye=eye, right_eye=eye)), i / FPS)
            if i >= n_settle and got.face_present:
                angles.append(angle)
                reads.append([getattr(getattr(got, f"{side}_eye"), f"{axis}_deg") for side in SIDES])
    a, r = np.array(angles), np.array(reads)
    return {side: polar(response(a, r[:, k], hz)) for k, side in enumerate(SIDES)}


def main() -> None:
    from realtime_mask.face_model.assets import load_face_model
    from realtime_mask.render import AvatarRenderer
    from realtime_mask.render.avatars import avatar_look
    from realtime_mask.synth.render import random_appearance, random_identity

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hz", type=float, default=4.0)
    ap.add_argument("--p2p", type=float, default=2.0, help="degrees peak to peak")
    args = ap.parse_args()
    model = load_face_model()
    _, avatar = avatar_look(0)
    faces = {"shared_avatar": dict(appearance=avatar, reflex_as_fixating=True),
             f"synthetic_person_{PATIENT_SEED}": dict(
                 identity=random_identity(PATIENT_SEED, model.identity_deltas.shape[0]),
                 appearance=random_appearance(PATIENT_SEED))}
    result, reported, heads = {}, [], {}
    for name, kw in faces.items():
        with AvatarRenderer(model, **kw) as renderer:
            result[name] = {f"{axis}_{held:+g}": swing(renderer, model, axis, held, args.hz, args.p2p)
                            for axis, helds in POSITIONS.items() for held in helds}
            heads[name] = {axis: head_swing(renderer, model, axis, args.hz, args.p2p)
                           for axis in POSITIONS}
        reported += [(name, key, side, g["reported"][0]) for key, eyes in result[name].items()
                     for side, g in eyes.items()]
    leak = np.array([g[0] for face in heads.values() for eyes in face.values()
                     for g in eyes.values()])
    gains = np.array([g for *_, g in reported])
    emit("quick_gain", {
        "swing": {"hz": args.hz, "p2p_deg": args.p2p, "seconds": SWING_S},
        "summary": {"reported_gain_range": [round(float(gains.min()), 3),
                                            round(float(gains.max()), 3)],
                    "reported_gain_median": round(float(np.median(gains)), 3),
                    "within_20_percent": f"{int((np.abs(gains - 1) <= 0.2).sum())} of {len(gains)}",
                    "head_swing_read_as_eye_movement_median": round(float(np.median(leak)), 3),
                    "head_swing_read_as_eye_movement_max": round(float(leak.max()), 3)},
        "faces": result, "head_swing": heads})


if __name__ == "__main__":
    main()
