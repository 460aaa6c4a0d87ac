"""Where the avatar cannot draw the lids its MaskParams ask for.

The renderer solves ICT's lid shapes (eyeBlink / eyeWide for the upper lid,
eyeSquint for the lower) to put each margin at its target above / below the
rotated iris centre. The shapes reach only so far: looking up, the upper lid
stops short of a normal MRD1; looking down, the lower lid climbs over the
iris. `AvatarRenderer.shown` says where the lids are actually drawn. This
program counts the misses (more than MISS iris radii, 0.3 mm), three ways:

  sweep        a normal eye (MRD1 4.4 mm, MRD2 5.6 mm) looking up and down on
               the mean face: the MRD1 / MRD2 drawn, in millimetres
  calibration  the eye calibration's sampled renders (same seed, ranges and
               lid drawing as its build), whose truth is the lid asked for
  clips        the real clips through the masker (shared avatar): open
               eye-frames whose drawn lids miss the MaskParams

Usage: python benchmarks/lid_reach.py [--frames 200]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit  # noqa: E402
from real_normals import real_clips  # noqa: E402

from realtime_mask.clinical.units import IRIS_RADIUS_MM  # noqa: E402
from realtime_mask.params import EyeParams, HeadPose, MaskParams  # noqa: E402
from realtime_mask.render.eye_model import lids_shut  # noqa: E402

MISS = 0.05                 # iris radii
NORMAL = (0.75, 0.95)       # upper, lower: MRD1 4.4 mm, MRD2 5.6 mm
SWEEP_PITCH = (-30, -20, -10, 0, 10, 20, 30)


def both_eyes(eye: EyeParams) -> MaskParams:
    return MaskParams(face_present=True, confidence=1.0, left_eye=eye, right_eye=eye)


def misses(asked: list[EyeParams], drawn: list[EyeParams]) -> dict:
    """Counts (and median miss in mm, median pitch) of open eyes whose drawn
    upper lid is lower than asked, and whose lower lid is drawn nearer the
    iris centre / further from it than asked."""
    open_ = [(a, d) for a, d in zip(asked, drawn) if not lids_shut(a.upper_lid, a.lower_lid)]
    up = np.array([a.upper_lid - d.upper_lid for a, d in open_])
    lo = np.array([a.lower_lid - d.lower_lid for a, d in open_])
    pitch = np.array([a.pitch_deg for a, _ in open_])

    def part(sel: np.ndarray, miss: np.ndarray) -> dict:
        if not sel.any():
            return {"eyes": 0}
        return {"eyes": int(sel.sum()),
                "median_miss_mm": round(float(np.median(np.abs(miss[sel]))) * IRIS_RADIUS_MM, 2),
                "median_pitch_deg": round(float(np.median(pitch[sel])), 1)}

    return {"open_eyes": len(open_),
            "upper_drawn_low": part(up > MISS, up),
            "lower_drawn_high": part(lo > MISS, lo),
            "lower_drawn_low": part(lo < -MISS, lo)}


def sweep(renderer) -> dict:
    out = {}
    for pitch in SWEEP_PITCH:
        shown = renderer.shown(both_eyes(EyeParams(pitch_deg=pitch, upper_lid=NORMAL[0],
                                                   lower_lid=NORMAL[1]))).left_eye
        out[f"{pitch:+d}"] = {"mrd1_mm": round(shown.upper_lid * IRIS_RADIUS_MM, 2),
                              "mrd2_mm": round(shown.lower_lid * IRIS_RADIUS_MM, 2)}
    return out


def calibration_samples(renderer) -> dict:
    from realtime_mask.face_model import eye_calibration as cal

    rng = np.random.default_rng(cal.SEED)
    asked, drawn = [], []
    for _ in range(cal.SAMPLES):   # the draws in the order build_eye_calibration makes them
        eyes = {s: EyeParams(rng.uniform(-cal.YAW, cal.YAW), rng.uniform(-cal.PITCH, cal.PITCH),
                             rng.uniform(*cal.UPPER), rng.uniform(*cal.LOWER)) for s in cal.SIDES}
        head = HeadPose(rng.uniform(-10, 10), rng.uniform(-8, 8), rng.uniform(-5, 5))
        params = MaskParams(face_present=True, confidence=1.0, head=head,
                            left_eye=eyes["left"], right_eye=eyes["right"])
        shown = renderer.shown(params)
        asked += [params.left_eye, params.right_eye]
        drawn += [shown.left_eye, shown.right_eye]
    return misses(asked, drawn)


def clip_misses(path: Path, frames: int) -> dict:
    from realtime_mask.media import read_video
    from realtime_mask.pipeline import FrameMasker

    asked, drawn = [], []
    with FrameMasker(avatar="shared") as masker:
        for i, (rgb, t) in enumerate(read_video(path)):
            if i >= frames:
                break
            params = masker.process(rgb, t).params
            if params.face_present:
                shown = masker.renderer.shown(params)
                asked += [params.left_eye, params.right_eye]
                drawn += [shown.left_eye, shown.right_eye]
    return misses(asked, drawn)


def main() -> int:
    from realtime_mask.face_model.assets import load_face_model
    from realtime_mask.render import AvatarRenderer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    args = ap.parse_args()
    clips = real_clips()
    model = load_face_model()
    with AvatarRenderer(model) as avatar, AvatarRenderer(model, lid_shapes_only=True) as cal:
        result = {"miss_iris_radii": MISS, "normal_eye_sweep": sweep(avatar),
                  "calibration_samples": calibration_samples(cal)}
    result["clips"] = {c.name: clip_misses(c, args.frames) for c in clips}
    emit("lid_reach", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
