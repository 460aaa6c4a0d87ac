"""Per-stage frame budget of the masking engine at 640x480 on a real clip.

The clip is letterboxed to 640x480 and encoded once to VP8 in memory, so the
'decode' stage is what the relay pays for a browser's camera stream. Then each
frame is decoded, tracked, fitted and rendered (yuv420p readback, as the relay
sends it). Prints per-stage p50/p95 milliseconds as JSON.

This shared 2-core host runs some hours about 2x slower in every stage. The JSON
carries a fixed pure-Python reference loop timed before and after the frames
(`host_reference_s`), so results from different hours can be told apart: the
smaller the reference, the quieter the hour.

Usage: python benchmarks/frame_budget.py [--clip PATH] [--frames 300]
           [--label NAME]     # saves frame_budget_NAME.json (e.g. per machine)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit, percentiles  # noqa: E402

from realtime_mask.media import read_video, rgb_from_frame  # noqa: E402
from realtime_mask.pipeline import FrameMasker  # noqa: E402

W, H = 640, 480
REFERENCE_STEPS = 2_000_000


def reference_loop_s() -> float:
    """Best of three timings of a fixed pure-Python loop: the host's speed now."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        total = 0
        for i in range(REFERENCE_STEPS):
            total += i
        best = min(best, time.perf_counter() - t0)
    return round(best, 3)


def letterbox(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = min(W / w, H / h)
    small = cv2.resize(rgb, (int(w * s) // 2 * 2, int(h * s) // 2 * 2), interpolation=cv2.INTER_AREA)
    out = np.zeros((H, W, 3), np.uint8)
    y, x = (H - small.shape[0]) // 2, (W - small.shape[1]) // 2
    out[y:y + small.shape[0], x:x + small.shape[1]] = small
    return out


def vp8_packets(frames: list[np.ndarray]) -> list[bytes]:
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = W, H, "yuv420p"
    enc.time_base = Fraction(1, 30)
    enc.bit_rate = 1_500_000
    packets = []
    for i, rgb in enumerate(frames):
        f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        f.pts = i
        packets += [bytes(p) for p in enc.encode(f)]
    packets += [bytes(p) for p in enc.encode(None)]
    return packets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, default=SHARED_DATA / "videos" / "pyfeat_WolfgangLanger_Pexels.mp4")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--label", default=None,
                    help="suffix of the result file name, e.g. the machine or GL renderer")
    args = ap.parse_args()
    if not args.clip.is_file():
        sys.exit(f"clip not found: {args.clip} (expected ../shared/data/videos)")

    frames = []
    for rgb, _ in read_video(args.clip):
        frames.append(letterbox(rgb))
        if len(frames) >= args.frames:
            break
    packets = vp8_packets(frames)
    dec = av.CodecContext.create("libvpx", "r")
    stages = {k: [] for k in ("decode", "track", "fit", "render", "total")}
    faces = 0
    reference_before = reference_loop_s()
    with FrameMasker(W, H) as masker:
        for i, packet in enumerate(packets):
            t0 = time.perf_counter()
            decoded = dec.decode(av.Packet(packet))
            if not decoded:
                continue
            rgb = rgb_from_frame(decoded[0])
            decode_ms = (time.perf_counter() - t0) * 1e3
            result = masker.process(rgb, i / 30, output="yuv420p")
            if i < args.warmup:
                continue
            faces += result.params.face_present
            stages["decode"].append(decode_ms)
            for k in ("track", "fit", "render"):
                stages[k].append(result.timings_ms[k])
            stages["total"].append(decode_ms + result.timings_ms["total"])
        gl_renderer = masker.renderer.ctx.info["GL_RENDERER"]

    emit(f"frame_budget_{args.label}" if args.label else "frame_budget", {
        "benchmark": "frame_budget", "label": args.label, "gl_renderer": gl_renderer,
        "clip": args.clip.name, "size": f"{W}x{H}", "frames_measured": len(stages["total"]),
        "frames_with_face": int(faces),
        "load_avg_1m": round(os.getloadavg()[0], 2),   # a busy shared machine inflates every stage
        "host_reference_s": {"before": reference_before, "after": reference_loop_s()},
        "ms": {k: percentiles(v) for k, v in stages.items()},
        "targets_ms": {"total_p50": 12, "total_p95": 18},
        "note": "decode = VP8 640x480 (what the relay decodes); render includes yuv420p readback",
    })


if __name__ == "__main__":
    main()
