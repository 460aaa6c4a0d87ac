"""Render speed of AvatarRenderer: p50/p95 of render_yuv420 and render.

Prints JSON and saves it under benchmarks/results/. The poses vary every frame
(head, gaze, lids, a few expressions) so each frame blends and uploads.

    .venv/bin/python benchmarks/render_speed.py [--frames 200] [--width 640 --height 480]
        [--label NAME]     # saves render_speed_640x480_NAME.json (e.g. per GL renderer)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from realtime_mask.face_model.assets import load_face_model
from realtime_mask.params import EXPRESSION_NAMES, EyeParams, HeadPose, MaskParams
from realtime_mask.render import AvatarRenderer

RESULTS = Path(__file__).resolve().parent / "results"


def poses(n: int) -> list[MaskParams]:
    """A deterministic, lively sequence: head sway, saccades, blinks, speech."""
    out = []
    jaw = EXPRESSION_NAMES.index("jawOpen")
    smile = [EXPRESSION_NAMES.index("mouthSmile_L"), EXPRESSION_NAMES.index("mouthSmile_R")]
    for i in range(n):
        t = i / 30.0
        blink = max(0.0, 1.0 - abs((t % 3.0) - 1.5) * 8)
        up = 0.75 - 1.7 * blink
        expr = np.zeros(len(EXPRESSION_NAMES), np.float32)
        expr[jaw] = 0.25 * max(0.0, np.sin(t * 9))
        expr[smile] = 0.3 + 0.2 * np.sin(t)
        eye = dict(yaw_deg=12 * np.sign(np.sin(t * 2)), pitch_deg=4 * np.sin(t * 3),
                   upper_lid=up, lower_lid=0.95)
        out.append(MaskParams(
            timestamp=t, face_present=True, confidence=1.0,
            head=HeadPose(yaw_deg=15 * np.sin(t * 0.7), pitch_deg=6 * np.sin(t * 0.5),
                          roll_deg=4 * np.sin(t * 0.3)),
            expression=expr, left_eye=EyeParams(**eye), right_eye=EyeParams(**eye)))
    return out


def timed(fn, params: list[MaskParams]) -> dict:
    """Wall time per call, and the process CPU time per call (all threads,
    llvmpipe's rasteriser threads included): the second is the work done,
    which a busy shared machine does not inflate as much as the wall time."""
    ms = []
    cpu0 = time.process_time()
    for p in params:
        t0 = time.perf_counter()
        fn(p)
        ms.append((time.perf_counter() - t0) * 1e3)
    cpu_ms = (time.process_time() - cpu0) * 1e3 / len(params)
    a = np.array(ms)
    return {"p50_ms": round(float(np.percentile(a, 50)), 3),
            "p95_ms": round(float(np.percentile(a, 95)), 3),
            "min_ms": round(float(a.min()), 3),
            "cpu_ms_per_frame": round(cpu_ms, 3), "frames": len(a)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--label", default=None,
                    help="suffix of the result file name, e.g. the machine or GL renderer")
    args = ap.parse_args()

    model = load_face_model()
    t0 = time.perf_counter()
    r = AvatarRenderer(model, args.width, args.height)
    init_s = time.perf_counter() - t0
    seq = poses(args.frames)
    for p in seq[:10]:                       # warm up shader compilation and caches
        r.render_yuv420(p)
        r.render(p)
    result = {
        "benchmark": "render_speed",
        "size": f"{args.width}x{args.height}",
        "label": args.label,
        "renderer": r.ctx.info["GL_RENDERER"],
        "cpu_count": os.cpu_count(),
        "lp_num_threads": os.environ.get("LP_NUM_THREADS", "default"),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "host": platform.node(),
        "init_s": round(init_s, 3),
        "render_yuv420": timed(r.render_yuv420, seq),
        "render": timed(r.render, seq),
        "no_face_yuv420": timed(r.render_yuv420, [MaskParams.no_face()] * 50),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    r.close()
    text = json.dumps(result, indent=2)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = f"_{args.label}" if args.label else ""
    (RESULTS / f"render_speed_{args.width}x{args.height}{suffix}.json").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
