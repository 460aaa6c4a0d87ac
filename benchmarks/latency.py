"""Glass-to-glass latency of a full consultation on loopback, masked vs pass-through.

A Python aiortc "patient" sends a real clip at 640x480, 30 fps, stamping each
frame's sequence number as a barcode in the corner and noting the time it hands
the frame to its encoder. The relay runs as its own process with the real
FrameMasker and the BENCHMARK-ONLY `--bench-stamp` option: it reads the number
from the input frame and draws it (the number, not the pixels) into the avatar
frame. A Python "doctor" decodes the number from each frame it receives: delay =
receive time - send time, per frame, on one clock (both bots share this process).
The same run is repeated with `--bench-passthrough` (masking replaced by
forwarding, benchmark-only) for comparison.

    .venv/bin/python benchmarks/latency.py [--seconds 60] [--modes mask,passthrough]

Prints JSON and saves it under benchmarks/results/. Targets (issue 3): output
>= 25 fps, glass-to-glass p50 <= 130 ms and p95 <= 180 ms, and the p95 of the
last 20 s within 10% of the first 20 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from realtime_mask.relay import barcode  # noqa: E402
from realtime_mask.relay.bot import (ArrayVideoTrack, RelayBot,  # noqa: E402
                                     clip_frames_yuv, drain)
from realtime_mask.relay.launch import ServerProcess  # noqa: E402

DEFAULT_CLIP = REPO.parent / "shared" / "data" / "videos" / "pyfeat_single_face.mp4"
WINDOW_S = 20.0


def pct(values, q) -> float | None:
    return round(float(np.percentile(values, q)), 1) if len(values) else None


def server_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def summarise(samples: list[tuple[float, float]], t0: float, t1: float) -> dict:
    """samples: (receive time, delay ms) within [t0, t1)."""
    inside = [(t, d) for t, d in samples if t0 <= t < t1]
    delays = [d for _, d in inside]
    return {"frames": len(inside), "fps": round(len(inside) / (t1 - t0), 2),
            "g2g_ms_p50": pct(delays, 50), "g2g_ms_p95": pct(delays, 95),
            "g2g_ms_max": round(max(delays), 1) if delays else None}


async def run_mode(mode: str, clip: list[np.ndarray], seconds: float, fps: float,
                   warmup_s: float) -> dict:
    extra = ["--bench-stamp", "--log-interval", "10"]
    if mode == "passthrough":
        extra.append("--bench-passthrough")
    with ServerProcess(*extra) as server:
        room = server.new_room()
        sent: dict[int, float] = {}
        samples: list[tuple[float, float]] = []
        seen: set[int] = set()
        undecodable = [0]

        def stamp(index: int, yuv: np.ndarray) -> np.ndarray:
            out = yuv.copy()
            barcode.stamp_yuv420p(out, index)
            sent[index & 0xFFFF] = time.monotonic()
            return out

        def received(frame) -> None:
            now = time.monotonic()
            plane = frame.planes[0]
            luma = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
            seq = barcode.read_luma(luma[:, : frame.width])
            if seq is None or seq not in sent:
                undecodable[0] += 1
                return
            if seq in seen:
                return
            seen.add(seq)
            samples.append((now, (now - sent[seq]) * 1000.0))

        patient = RelayBot(server.url, room.id, room.patient_token)
        doctor = RelayBot(server.url, room.id, room.doctor_token)
        tasks: list[asyncio.Task] = []

        def on_doctor_track(track) -> None:
            tasks.append(asyncio.create_task(drain(track, received if track.kind == "video" else None)))

        await patient.join()
        await doctor.join()
        await doctor.call([], ["video", "audio"], on_track=on_doctor_track)
        await patient.call([ArrayVideoTrack(clip, fps=fps, before_send=stamp)], ["video"])
        # Warm up: the masker starts (model, tracker, GL) when the patient joins.
        for _ in range(600):
            if samples:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(warmup_s)
        t0 = time.monotonic()
        sent_before = len(sent)
        stats_before = (doctor.of_type("stats") or [{"stats": {}}])[-1]["stats"]
        rss_mb = []
        while time.monotonic() < t0 + seconds:
            rss_mb.append(server_rss_mb(server.proc.pid))
            await asyncio.sleep(min(5.0, max(0.0, t0 + seconds - time.monotonic())))
        rss_mb.append(server_rss_mb(server.proc.pid))
        t1 = time.monotonic()
        sent_during = len(sent) - sent_before
        stats = (doctor.of_type("stats") or [{"stats": {}}])[-1]["stats"]
        for t in tasks:
            t.cancel()
        await patient.close()
        await doctor.close()
        log_tail = server.log_text()[-2000:]

    total = summarise(samples, t0, t1)
    first = summarise(samples, t0, t0 + WINDOW_S)
    last = summarise(samples, t1 - WINDOW_S, t1)
    growth = (last["g2g_ms_p95"] / first["g2g_ms_p95"] - 1.0) if first["g2g_ms_p95"] else None

    def delta(key):
        if key in stats and key in stats_before:
            return stats[key] - stats_before[key]
        return None

    return {
        "mode": mode,
        "seconds": round(t1 - t0, 1),
        "frames_sent": sent_during,
        "frames_received": total["frames"],
        "output_fps": total["fps"],
        "g2g_ms_p50": total["g2g_ms_p50"],
        "g2g_ms_p95": total["g2g_ms_p95"],
        "g2g_ms_max": total["g2g_ms_max"],
        "first_20s": first,
        "last_20s": last,
        "p95_growth_last_vs_first": round(growth, 3) if growth is not None else None,
        "relay_processing_ms_p50": stats.get("processing_ms_p50"),
        "relay_processing_ms_p95": stats.get("processing_ms_p95"),
        "relay_arrival_to_output_ms_p50": stats.get("relay_delay_ms_p50"),
        "relay_arrival_to_output_ms_p95": stats.get("relay_delay_ms_p95"),
        "relay_stage_ms_p50": stats.get("stage_ms_p50"),
        "relay_frames_in": delta("frames_in"),
        "relay_frames_out": delta("frames_out"),
        "relay_dropped_stale": delta("dropped_stale"),
        "relay_dropped_at_send": delta("dropped_at_send"),
        "frames_lost_end_to_end": sent_during - total["frames"],
        "server_rss_mb_start": rss_mb[0],
        "server_rss_mb_end": rss_mb[-1],
        "server_rss_mb_max": max(rss_mb),
        "server_rss_mb_every_5s": rss_mb,
        "undecodable_frames": undecodable[0],
        "server_log_tail": log_tail.splitlines()[-3:],
    }


def verdict(r: dict) -> dict:
    return {
        "output_fps>=25": r["output_fps"] >= 25,
        "g2g_p50<=130ms": r["g2g_ms_p50"] is not None and r["g2g_ms_p50"] <= 130,
        "g2g_p95<=180ms": r["g2g_ms_p95"] is not None and r["g2g_ms_p95"] <= 180,
        "p95_growth<=10%": r["p95_growth_last_vs_first"] is not None
        and r["p95_growth_last_vs_first"] <= 0.10,
    }


async def main_async(args) -> dict:
    clip = clip_frames_yuv(args.clip, 640, 480, limit=150)
    results = []
    for mode in args.modes.split(","):
        print(f"running {mode} for {args.seconds:.0f} s ...", file=sys.stderr, flush=True)
        r = await run_mode(mode, clip, args.seconds, args.fps, args.warmup)
        r["targets_met"] = verdict(r)
        results.append(r)
    return {
        "benchmark": "latency",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_avg_1m_at_end": round(os.getloadavg()[0], 2)},
        "setup": {"resolution": "640x480", "fps": args.fps, "clip": Path(args.clip).name,
                  "transport": "loopback, aiortc bots <-> relay process (VP8)",
                  "glass_to_glass": "patient bot hands frame to its encoder -> doctor bot "
                                    "has it decoded (no capture/display time)"},
        "runs": results,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--modes", default="mask,passthrough")
    p.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "latency.json")
    args = p.parse_args()
    if not args.clip.exists():
        print(f"clip not found: {args.clip} (expected ../shared/data)", file=sys.stderr)
        return 2
    if args.seconds < 2 * WINDOW_S:
        print(f"--seconds must be at least {2 * WINDOW_S:.0f}", file=sys.stderr)
        return 2
    report = asyncio.run(main_async(args))
    text = json.dumps(report, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
