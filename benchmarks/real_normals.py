"""What the clinical read-out says about real people without known eye signs.

The real clips in ../shared/data/videos show people talking, nodding or
animated portraits; none is known to have an eye sign (though the woman in
liveportrait_d6 crosses her eyes on purpose at times, a real convergence
that reads about 24 degrees). Each clip (its first --frames frames) goes
through the masker, and its MaskParams are measured as a doctor's report
would measure them. Every sign reported here is presumably
a false one, and the medians show systematic biases that synthetic patients
cannot show (they share the avatar's renderer): MRD1 (normal adults: about
3.5-5 mm) and the vertical deviation (about 0 in a population).

Usage: python benchmarks/real_normals.py [--frames 200]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit  # noqa: E402

CLIPS = ("pyfeat_single_face.mp4", "pyfeat_WolfgangLanger_Pexels.mp4", "liveportrait_d0.mp4",
         "liveportrait_d3.mp4", "liveportrait_d6.mp4", "liveportrait_d9.mp4", "grid_bbaf2n.mpg",
         "grid_brbk7n.mpg", "grid_lbax4n.mpg", "grid_lbbc2a.mpg", "grid_lrwp9a.mpg")
MM_PER_IRIS_RADIUS = 5.85


def measure_clip(path: Path, frames: int) -> dict:
    from realtime_mask.clinical import ParamsTrack, summarize
    from realtime_mask.clinical.gaze import deviation_series
    from realtime_mask.media import read_video
    from realtime_mask.pipeline import FrameMasker

    params = []
    with FrameMasker(avatar="shared") as masker:
        for i, (rgb, t) in enumerate(read_video(path)):
            if i >= frames:
                break
            params.append(masker.process(rgb, t).params)
    track = ParamsTrack.from_params(params)
    h, v = deviation_series(track)
    open_eyes = [(p.left_eye.upper_lid, p.right_eye.upper_lid) for p in params
                 if p.face_present and max(p.left_eye.blink, p.right_eye.blink) < 0.2]
    mrd1 = np.median(open_eyes, axis=0) * MM_PER_IRIS_RADIUS if open_eyes else [np.nan, np.nan]
    return {"clip": path.name, "frames": len(params),
            "signs": sorted({f.sign for f in summarize(track).findings}),
            "mrd1_mm": {"left": round(float(mrd1[0]), 2), "right": round(float(mrd1[1]), 2)},
            "deviation_deg": {"horizontal": round(float(np.nanmedian(h)), 2),
                              "vertical": round(float(np.nanmedian(v)), 2)}}


def real_clips() -> list[Path]:
    """The clips' paths; exits with a clear message when any is missing."""
    clips = [SHARED_DATA / "videos" / c for c in CLIPS]
    missing = [c.name for c in clips if not c.is_file()]
    if missing:
        sys.exit(f"clips not found: {missing} (expected ../shared/data/videos)")
    return clips


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    args = ap.parse_args()
    clips = real_clips()
    rows = []
    for path in clips:
        rows.append(measure_clip(path, args.frames))
        print(f"{path.name}: {rows[-1]['signs']}", file=sys.stderr)
    mrd1 = [m for r in rows for m in r["mrd1_mm"].values()]
    vertical = [r["deviation_deg"]["vertical"] for r in rows]
    horizontal = [r["deviation_deg"]["horizontal"] for r in rows]
    emit("real_normals", {
        "clips": len(rows), "frames_per_clip": args.frames,
        "clips_with_sign": dict(Counter(s for r in rows for s in r["signs"])),
        "clips_with_any_sign": sum(bool(r["signs"]) for r in rows),
        "mrd1_mm": {"median": round(float(np.median(mrd1)), 2),
                    "range": [round(float(min(mrd1)), 2), round(float(max(mrd1)), 2)]},
        "vertical_deviation_deg_median": round(float(np.median(vertical)), 2),
        "horizontal_deviation_deg": {"median": round(float(np.median(horizontal)), 2),
                                     "median_abs": round(float(np.median(np.abs(horizontal))), 2)},
        "per_clip": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
