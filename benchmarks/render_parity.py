"""Pixel parity of AvatarRenderer between two GL implementations (e.g. a GPU
driver and Mesa llvmpipe): render a fixed set of poses on one, compare on the other.

    # on machine A: save the frames (one compressed .npz)
    python benchmarks/render_parity.py --save DIR_OR_FILE.npz
    # on machine B: render the same poses here and compare
    .venv/bin/python benchmarks/render_parity.py --compare FILE.npz

The poses are every 7th of render_speed.poses(240) plus a few extreme head,
gaze, lid and mouth poses. --compare prints JSON and saves it as
benchmarks/results/render_parity.json: per frame and overall the max and mean
absolute difference (over the RGB channels) and the fraction of pixels whose
largest channel difference exceeds 8, and how many of those lie on an edge of
the reference image (silhouettes, lid and iris rims) rather than in flat shading.
Pure measurement: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from realtime_mask.face_model.assets import load_face_model
from realtime_mask.params import EXPRESSION_NAMES, EyeParams, HeadPose, MaskParams
from realtime_mask.render import AvatarRenderer
from _common import emit
from render_speed import poses

WIDTH, HEIGHT = 640, 480
THRESHOLD = 8          # a pixel "differs" when some channel differs by more than this
DEFAULT_NAME = "render_parity_frames.npz"


def _extremes() -> list[MaskParams]:
    """Head turned far, eyes at the ends of their range, lids shut and wide, mouth wide."""
    def expr(**w: float) -> np.ndarray:
        e = np.zeros(len(EXPRESSION_NAMES), np.float32)
        for name, v in w.items():
            e[EXPRESSION_NAMES.index(name)] = v
        return e

    def p(head=(0, 0, 0), eye=(0, 0), lids=(0.75, 0.95), e=None) -> MaskParams:
        eyes = EyeParams(yaw_deg=eye[0], pitch_deg=eye[1], upper_lid=lids[0], lower_lid=lids[1])
        return MaskParams(timestamp=0.0, face_present=True, confidence=1.0,
                          head=HeadPose(yaw_deg=head[0], pitch_deg=head[1], roll_deg=head[2]),
                          expression=expr() if e is None else e, left_eye=eyes, right_eye=eyes)

    return [
        p(head=(45, 0, 0)), p(head=(-45, 10, -10)), p(head=(0, 30, 0)), p(head=(10, -25, 20)),
        p(eye=(40, 0)), p(eye=(-30, 30)), p(eye=(0, -35), lids=(-1.2, 0.6)),
        p(lids=(2.5, 2.5)), p(lids=(-1.0, -1.0)),
        p(head=(20, 10, 5), e=expr(jawOpen=1.0, mouthFunnel=0.5)),
        p(e=expr(mouthSmile_L=1.0, mouthSmile_R=1.0, jawOpen=0.4)),
    ]


def parity_poses() -> list[MaskParams]:
    return poses(240)[::7] + _extremes()


def render_all(seq: list[MaskParams]) -> tuple[np.ndarray, str]:
    r = AvatarRenderer(load_face_model(), WIDTH, HEIGHT)
    try:
        frames = np.stack([r.render(p) for p in seq])
        return frames, r.ctx.info["GL_RENDERER"]
    finally:
        r.close()


def _stats(ref: np.ndarray, here: np.ndarray) -> dict:
    """Differences of one frame (or a stack of frames) against the reference."""
    d = np.abs(ref.astype(np.int16) - here.astype(np.int16))
    big = d.max(-1) > THRESHOLD
    return {"max_abs": int(d.max()), "mean_abs": round(float(d.mean()), 4),
            "frac_gt8": round(float(big.mean()), 6), "n_gt8": int(big.sum())}


def _edges(frame: np.ndarray) -> np.ndarray:
    """Pixels within 1 px of an edge of the frame (Canny on grey)."""
    e = cv2.Canny(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), 20, 60)
    return cv2.dilate(e, np.ones((3, 3), np.uint8)) > 0


def compare(npz: Path, seq: list[MaskParams]) -> dict:
    with np.load(npz) as z:
        ref, ref_renderer = z["frames"], str(z["renderer"])
        ref_params = [str(s) for s in z["params"]]
    if ref_params != [p.to_json() for p in seq]:
        raise SystemExit(f"{npz} holds other poses than this version of render_parity.py")
    t0 = time.perf_counter()
    here, renderer = render_all(seq)
    frames, on_edge = [], 0
    for i, (a, b) in enumerate(zip(ref, here)):
        s = _stats(a, b)
        big = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(-1) > THRESHOLD
        if big.any():
            ys, xs = np.nonzero(big)
            s["bbox_gt8_xyxy"] = [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]
            n_edge = int((big & _edges(a)).sum())
            s["gt8_on_edges"] = round(n_edge / s["n_gt8"], 3)
            on_edge += n_edge
        frames.append({"frame": i, **s})
    overall = _stats(ref, here)
    overall["gt8_on_edges"] = round(on_edge / overall["n_gt8"], 3) if overall["n_gt8"] else None
    worst = max(frames, key=lambda f: f["n_gt8"])
    return {
        "size": f"{WIDTH}x{HEIGHT}",
        "reference": {"file": str(npz), "renderer": ref_renderer},
        "here": {"renderer": renderer, "render_s": round(time.perf_counter() - t0, 2)},
        "frames": len(seq), "threshold": THRESHOLD,
        "overall": overall,
        "worst_frame": worst["frame"],
        "frames_identical": sum(f["max_abs"] == 0 for f in frames),
        "per_frame": frames,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--save", type=Path,
                      help=f"write the frames to this .npz (a folder: {DEFAULT_NAME} in it)")
    mode.add_argument("--compare", type=Path, help="a .npz written by --save elsewhere")
    args = ap.parse_args()
    seq = parity_poses()
    if args.save:
        out = args.save / DEFAULT_NAME if args.save.is_dir() else args.save
        out.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        frames, renderer = render_all(seq)
        np.savez_compressed(out, frames=frames, renderer=np.array(renderer),
                            params=np.array([p.to_json() for p in seq]))
        print(json.dumps({"saved": str(out), "frames": len(seq), "renderer": renderer,
                          "render_s": round(time.perf_counter() - t0, 2),
                          "bytes": out.stat().st_size}))
        return 0
    emit("render_parity", compare(args.compare, seq))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
