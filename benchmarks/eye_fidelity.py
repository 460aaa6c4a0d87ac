"""Eye fidelity of the masked output against the input, identity-free.

For each clip: mask every frame, track the avatar again, and compare per eye the
iris position within the eye opening (h, v: 0..1) and the aperture / eye width
with the input's (mean absolute error; target <= 0.02), and the blinks found
(target: >= 90% of the input's blinks appear in the output).

Each clip is masked twice: with the shared mean avatar and with a session avatar
from the checked pool (clip i gets pool avatar i, so runs are reproducible).

Usage: python benchmarks/eye_fidelity.py [clip names...]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit  # noqa: E402

from realtime_mask.avatar_pool import load_avatar_pool  # noqa: E402
from realtime_mask.eye_fidelity import compare, measure_clip  # noqa: E402
from realtime_mask.face_model.assets import load_face_model  # noqa: E402
from realtime_mask.media import read_video  # noqa: E402

CLIPS = ("liveportrait_d0.mp4", "liveportrait_d3.mp4", "liveportrait_d6.mp4")


def main() -> None:
    clips = sys.argv[1:] or CLIPS
    pool = load_avatar_pool(load_face_model())
    results = {}
    for i, name in enumerate(clips):
        path = SHARED_DATA / "videos" / name
        if not path.is_file():
            sys.exit(f"clip not found: {path}")
        for label, avatar in (("shared_avatar", "shared"),
                              (f"session_avatar_{pool[i % len(pool)]}", pool[i % len(pool)])):
            inp, out, n = measure_clip(read_video(path), avatar=avatar)
            results.setdefault(name, {})[label] = {"frames": n, **compare(inp, out)}
            print(name, label, results[name][label], file=sys.stderr)
    emit("eye_fidelity", {"clips": results, "targets": {"max_mae": 0.02, "blink_recall": 0.9}})


if __name__ == "__main__":
    main()
