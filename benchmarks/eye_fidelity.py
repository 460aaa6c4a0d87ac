"""Eye fidelity of the masked output against the input, identity-free.

For each clip: mask every frame, track the avatar again, and compare per eye the
iris position within the eye opening (h, v: 0..1) and the aperture / eye width
with the input's (mean absolute error; target <= 0.02), and the blinks found
(target: >= 90% of the input's blinks appear in the output).

Each clip is masked twice: with the shared mean avatar and with a session avatar
from the checked pool (clip i gets pool avatar i, so runs are reproducible).

--avatar-input: the input is the clip already masked with the shared avatar,
masked again with it. The face, its eye proportions and the renderer are then
the same on both sides, so what error is left is the read-out's round trip on
rendered eyes (MediaPipe, eye model, calibration, lid solve), not how the
patient's eyes differ from the avatar's.

Usage: python benchmarks/eye_fidelity.py [--avatar-input] [clip names...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit  # noqa: E402

from realtime_mask.avatar_pool import load_avatar_pool  # noqa: E402
from realtime_mask.eye_fidelity import compare, measure_clip  # noqa: E402
from realtime_mask.face_model.assets import load_face_model  # noqa: E402
from realtime_mask.media import read_video  # noqa: E402
from realtime_mask.pipeline import FrameMasker  # noqa: E402

CLIPS = ("liveportrait_d0.mp4", "liveportrait_d3.mp4", "liveportrait_d6.mp4")


def masked_frames(path: Path) -> list:
    """The clip as the doctor gets it with the shared avatar, (rgb, t) per frame."""
    with FrameMasker(640, 480, avatar="shared") as masker:
        return [(masker.process(rgb, t).frame, t) for rgb, t in read_video(path)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="*", default=list(CLIPS))
    ap.add_argument("--avatar-input", action="store_true",
                    help="mask the shared avatar's output again (the read-out's round trip)")
    args = ap.parse_args()
    pool = load_avatar_pool(load_face_model())
    results = {}
    for i, name in enumerate(args.clips):
        path = SHARED_DATA / "videos" / name
        if not path.is_file():
            sys.exit(f"clip not found: {path}")
        if args.avatar_input:
            runs = [("shared_avatar_on_its_own_output", "shared")]
        else:
            runs = [("shared_avatar", "shared"),
                    (f"session_avatar_{pool[i % len(pool)]}", pool[i % len(pool)])]
        for label, avatar in runs:
            frames = masked_frames(path) if args.avatar_input else read_video(path)
            inp, out, n = measure_clip(frames, avatar=avatar)
            results.setdefault(name, {})[label] = {"frames": n, **compare(inp, out)}
            print(name, label, results[name][label], file=sys.stderr)
    emit("eye_fidelity_avatar_input" if args.avatar_input else "eye_fidelity",
         {"clips": results, "targets": {"max_mae": 0.02, "blink_recall": 0.9}})


if __name__ == "__main__":
    main()
