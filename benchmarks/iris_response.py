"""How the iris centre answers small eye movements: FaceMesh, the limbus, IrisMotion.

Rendered faces (the mean avatar, session avatars from the pool, synthetic
patients) turn their eyes by known amounts while FaceMesh tracks them as a
video. Per eye, three iris centres are read in pixels: FaceMesh's own, the
limbus circle (tracking/limbus.py, fitted afresh each frame) and what
tracking/iris_motion.py hands on (FaceMesh's with the limbus's quick part).

  ramp         the eyes turn slowly through 4 degrees (about 1.8 px) in 81
               frames: slope (px per degree) and scatter about the best line
  oscillation  a 3-degree, 3 Hz horizontal swing about several held positions:
               the swing each centre reads (px, lock-in at 3 Hz) against the
               limbus's, and its spread over faces and positions

Also: how often the limbus is sharp enough for IrisMotion on each real clip
in ../shared/data/videos (its share of eye reads in the first 200 frames), and
how often it was tried at all (the rest were skipped after runs of misses).

Usage: python benchmarks/iris_response.py [--faces 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit  # noqa: E402

from realtime_mask.params import EyeParams, MaskParams  # noqa: E402
from realtime_mask.tracking.eye_image import checked_limbus, iris_patch  # noqa: E402
from realtime_mask.tracking.iris_motion import IrisMotion  # noqa: E402
from realtime_mask.tracking.landmarks import EYE_CONTOURS  # noqa: E402

FPS = 30.0
SWING_HZ, SWING_DEG = 3.0, 3.0
HELD_YAWS = (-4.0, 0.0, 2.0, 5.0)


def limbus_x(rgb: np.ndarray, points: np.ndarray, side: str) -> float:
    gray, centre, radius, origin = iris_patch(
        rgb, points[list(EYE_CONTOURS[side].iris), :2].astype(np.float64))
    fit = checked_limbus(gray, centre, radius)
    return float(fit[0][0] + origin[0]) if fit is not None else float("nan")


def read_centres(renderer, yaws) -> dict[str, np.ndarray]:
    """Per side, (frames, 3): FaceMesh's, the limbus's and IrisMotion's centre x."""
    from realtime_mask.tracking import MediaPipeTracker

    motion = IrisMotion()
    rows = {side: [] for side in EYE_CONTOURS}
    with MediaPipeTracker() as tracker:
        for yaw in yaws:
            eye = EyeParams(yaw_deg=float(yaw))
            rgb = renderer.render(MaskParams(face_present=True, confidence=1.0,
                                             right_eye=eye, left_eye=eye))
            landmarks = tracker.track(rgb)
            refined = motion.refine(rgb, landmarks)
            for side, contour in EYE_CONTOURS.items():
                rows[side].append((landmarks.points[contour.iris[0], 0],
                                   limbus_x(rgb, landmarks.points, side),
                                   refined.points[contour.iris[0], 0]))
    return {side: np.array(v, float) for side, v in rows.items()}


def line_fit(yaws: np.ndarray, x: np.ndarray) -> dict:
    ok = np.isfinite(x)
    design = np.c_[yaws, np.ones_like(yaws)][ok]
    coef, *_ = np.linalg.lstsq(design, x[ok], rcond=None)
    return {"slope_px_per_deg": round(float(coef[0]), 3),
            "scatter_px": round(float(np.std(x[ok] - design @ coef)), 3)}


def swing(t: np.ndarray, x: np.ndarray) -> float:
    """Peak-to-peak size of the 3 Hz component (px), after the first half second."""
    keep = (t >= 0.5) & np.isfinite(x)
    v = x[keep] - x[keep].mean()
    return float(4 * abs(np.mean(v * np.exp(-2j * np.pi * SWING_HZ * t[keep]))))


def faces(model, n: int):
    from realtime_mask.avatar_pool import load_avatar_pool
    from realtime_mask.render.avatars import avatar_renderer
    from realtime_mask.synth.render import PatientRenderer

    yield "mean avatar", lambda: avatar_renderer(model, 0)
    for seed in load_avatar_pool(model)[:n]:
        yield f"avatar {seed}", lambda seed=seed: avatar_renderer(model, seed)
    for seed in range(100, 100 + n):
        yield f"patient {seed}", lambda seed=seed: PatientRenderer(model, seed)


def real_clip_shares(frames: int) -> dict:
    from realtime_mask.media import read_video
    from realtime_mask.tracking import MediaPipeTracker

    out = {}
    for path in sorted((SHARED_DATA / "videos").glob("*")):
        motion, reads, moved = IrisMotion(), 0, 0
        with MediaPipeTracker() as tracker:
            for i, (rgb, _) in enumerate(read_video(path)):
                if i == frames:
                    break
                landmarks = tracker.track(rgb)
                if landmarks is None:
                    continue
                refined = motion.refine(rgb, landmarks)
                reads += 2
                moved += sum(bool(refined.points[c.iris[0], 0] != landmarks.points[c.iris[0], 0])
                             for c in EYE_CONTOURS.values())
        out[path.name] = {"eye_reads": reads,
                          "moved_share": round(moved / reads, 3) if reads else None,
                          "refit_share": round(motion.refits / reads, 3) if reads else None}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=3, help="pool avatars and patients each")
    ap.add_argument("--frames", type=int, default=200, help="per real clip")
    args = ap.parse_args()
    from realtime_mask.face_model.assets import load_face_model

    model = load_face_model()
    ramp_yaws = np.linspace(0.0, 4.0, 81)
    t = np.arange(60) / FPS
    per_face, ratios = {}, {"facemesh": [], "iris_motion": []}
    for name, make in faces(model, args.faces):
        with make() as renderer:
            ramp = read_centres(renderer, ramp_yaws)
            entry = {"ramp": {side: {src: line_fit(ramp_yaws, ramp[side][:, k])
                                     for k, src in enumerate(("facemesh", "limbus",
                                                              "iris_motion"))}
                              for side in ramp}, "oscillation": {}}
            for held in HELD_YAWS:
                yaws = held + SWING_DEG / 2 * np.sin(2 * np.pi * SWING_HZ * t)
                read = read_centres(renderer, yaws)
                for side, x in read.items():
                    s = [swing(t, x[:, k]) for k in range(3)]
                    entry["oscillation"][f"{side} at {held:+.0f} deg"] = {
                        "facemesh_px": round(s[0], 3), "limbus_px": round(s[1], 3),
                        "iris_motion_px": round(s[2], 3)}
                    if s[1] > 0:
                        ratios["facemesh"].append(s[0] / s[1])
                        ratios["iris_motion"].append(s[2] / s[1])
        per_face[name] = entry
        print(f"{name}: done", file=sys.stderr)
    summary = {src: {"median": round(float(np.median(v)), 3),
                     "range": [round(float(np.min(v)), 3), round(float(np.max(v)), 3)],
                     "within_20pct": round(float(np.mean(np.abs(np.array(v) - 1) <= 0.2)), 3)}
               for src, v in ratios.items()}
    emit("iris_response", {
        "swing": {"hz": SWING_HZ, "deg_peak_to_peak": SWING_DEG, "held_yaws_deg": HELD_YAWS},
        "swing_read_over_limbus": summary,
        "real_clips": real_clip_shares(args.frames) if (SHARED_DATA / "videos").is_dir() else None,
        "faces": per_face})
    return 0


if __name__ == "__main__":
    sys.exit(main())
