"""How closely FaceMesh repeats itself on the eye-fidelity measures.

`eye_fidelity.py` compares two FaceMesh trackings: of the input, and of the
masked output tracked again. Part of that error is FaceMesh's own: the same
eyes, drawn a little differently, read differently. Here each clip is compared
with itself, unmasked, through changes no viewer would see:

  - resampled: scaled by 1.1 about the frame centre and shifted by half a
    pixel (bilinear), as the masker's output puts a face at its own scale;
  - jpeg: every frame through JPEG at quality 90.

The measures, the open-eye rule and the blink matching are eye_fidelity's
(realtime_mask/eye_fidelity.py). An error here is a floor under the masked
output's: no avatar can be re-read more closely than the input itself.

With --avatar the same is done to the masked output (the shared mean face,
as eye_fidelity.py masks it): how closely FaceMesh repeats itself on the
avatar's eyes, the floor under the output's side of eye_fidelity.

Usage: python benchmarks/tracking_floor.py [--avatar] [clip names...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit  # noqa: E402
from eye_fidelity import CLIPS  # noqa: E402

from realtime_mask.eye_fidelity import EyeTrace, compare  # noqa: E402
from realtime_mask.face_model.eyes import eye_opening_measures  # noqa: E402
from realtime_mask.media import read_video  # noqa: E402
from realtime_mask.tracking import MediaPipeTracker  # noqa: E402

SCALE, SHIFT_PX = 1.1, 0.5
JPEG_QUALITY = 90


def resampled(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, SCALE)
    m[:, 2] += SHIFT_PX
    return cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def jpeg(rgb: np.ndarray) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)


CHANGES = {"resampled": resampled, "jpeg": jpeg}


def masked(frames):
    """The clip as eye_fidelity.py's shared avatar draws it."""
    from realtime_mask.pipeline import FrameMasker

    with FrameMasker(640, 480, avatar="shared") as masker:
        for rgb, t in frames:
            yield masker.process(rgb, t).frame, t


def measure(path: Path, avatar: bool = False) -> dict:
    rows: dict[str, list] = {name: [] for name in ("input", *CHANGES)}
    trackers = {name: MediaPipeTracker() for name in rows}
    try:
        for rgb, _ in (masked(read_video(path)) if avatar else read_video(path)):
            for name, tracker in trackers.items():
                image = rgb if name == "input" else CHANGES[name](rgb)
                lm = tracker.track(image)
                rows[name].append(eye_opening_measures(lm) if lm is not None else None)
    finally:
        for tracker in trackers.values():
            tracker.close()
    traces = {name: EyeTrace.from_measures(r) for name, r in rows.items()}
    return {name: {"frames": len(rows["input"]), **compare(traces["input"], traces[name])}
            for name in CHANGES}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--avatar", action="store_true", help="the masked output, not the input")
    ap.add_argument("clips", nargs="*", default=list(CLIPS))
    args = ap.parse_args()
    results = {}
    for name in args.clips:
        path = SHARED_DATA / "videos" / name
        if not path.is_file():
            sys.exit(f"clip not found: {path}")
        results[name] = measure(path, avatar=args.avatar)
        print(name, results[name], file=sys.stderr)
    emit("tracking_floor_avatar" if args.avatar else "tracking_floor", {
        "clips": results, "stream": "masked (shared avatar)" if args.avatar else "input",
        "changes": {
            "resampled": f"scale {SCALE} about the centre, shift {SHIFT_PX} px, bilinear",
            "jpeg": f"JPEG quality {JPEG_QUALITY}"}})


if __name__ == "__main__":
    main()
