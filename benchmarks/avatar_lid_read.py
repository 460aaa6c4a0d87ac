"""How the avatar's upper lids read back: the doctor's picture of MRD1.

The avatar is drawn holding each upper-lid height (eyes straight, head
still), and a fresh session re-reads it as fidelity.py re-tracks the avatar
(FaceMesh, the eye pixels every third frame, the lid anchor); the read-out is
taken once the anchor is steady. A ptosis drawn at 1 mm that reads 1.3-1.6 mm
is what the re-tracked MRD1 of the synthetic ptosis patients inherits.

Reported per avatar and level: the MRD1 asked and drawn (mm, 11.7 mm iris)
and each eye's read-out, and per avatar the median absolute error.

Usage: python benchmarks/avatar_lid_read.py [--avatars shared,0,1] [--frames 90]
  (a number picks that face of the session-avatar pool)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit  # noqa: E402

from realtime_mask.clinical.units import radii_to_mm  # noqa: E402
from realtime_mask.params import EyeParams, MaskParams  # noqa: E402

UPPER_LEVELS = (0.17, 0.35, 0.5, 0.75, 1.0, 1.1, 1.2)  # iris radii: MRD1 1.0 .. 7.0 mm
LOWER_LID = 0.95
SETTLE = 60             # frames before the read-out is taken (the anchor needs 36+)


def read_level(model, renderer, upper: float, frames: int) -> dict:
    from realtime_mask.pipeline import FrameMasker

    eye = EyeParams(upper_lid=upper, lower_lid=LOWER_LID)
    params = MaskParams(face_present=True, confidence=1.0, right_eye=eye, left_eye=eye)
    drawn = renderer.shown(params)
    frame = renderer.render(params)
    reads = []
    with FrameMasker(model=model, avatar="shared") as reader:
        for k in range(frames):
            m = reader.measure(frame, k / 30.0)
            if k >= SETTLE:
                reads.append((m.right_eye.upper_lid, m.left_eye.upper_lid))
    read = np.median(np.array(reads, float), axis=0)
    return {"asked_mm": round(float(radii_to_mm(upper)), 2),
            "drawn_mm": [round(float(radii_to_mm(e.upper_lid)), 2)
                         for e in (drawn.right_eye, drawn.left_eye)],
            "read_mm": [round(float(radii_to_mm(v)), 2) for v in read]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--avatars", default="shared,0,3,8",
                    help="comma-separated: shared or an index into the session-avatar pool")
    ap.add_argument("--frames", type=int, default=90, help=f"frames per level (> {SETTLE})")
    args = ap.parse_args()
    if args.frames <= SETTLE:
        ap.error(f"--frames must be more than {SETTLE}")
    from realtime_mask.avatar_pool import load_avatar_pool
    from realtime_mask.face_model.assets import load_face_model
    from realtime_mask.render.avatars import SHARED_AVATAR, avatar_renderer

    model = load_face_model()
    pool = load_avatar_pool(model)
    out = {}
    for name in args.avatars.split(","):
        avatar = SHARED_AVATAR if name == "shared" else pool[int(name) % len(pool)]
        with avatar_renderer(model, avatar) as renderer:
            levels = [read_level(model, renderer, u, args.frames) for u in UPPER_LEVELS]
        errors = [abs(r - lv["drawn_mm"][i]) for lv in levels for i, r in enumerate(lv["read_mm"])]
        out[name if name == "shared" else str(avatar)] = {
            "levels": levels, "median_abs_error_mm": round(float(np.median(errors)), 2)}
        print(f"{name}: {levels}", file=sys.stderr)
    emit("avatar_lid_read", {"upper_levels": UPPER_LEVELS, "lower_lid": LOWER_LID,
                             "frames": args.frames, "avatars": out})
    return 0


if __name__ == "__main__":
    sys.exit(main())
