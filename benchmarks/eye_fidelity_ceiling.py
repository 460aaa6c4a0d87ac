"""The lowest eye-fidelity error any drawing of the avatar's eyes reaches.

`eye_fidelity.py` scores the masked output by reading it again with FaceMesh
and comparing its eye measures (iris position h, v within the opening, and
the aperture) with FaceMesh's reading of the input. This asks how low that
score could go if the drawing were free to chase the read-out: per frame,
each eye's drawn gaze and lids are moved away from the frame's MaskParams
until FaceMesh's reading of the render matches its reading of the input as
closely as a search finds (analysis by synthesis, about 30 renders and reads
a frame, offline only). What error is left belongs to FaceMesh reading the
avatar's eyes, not to the fitter, the calibration or the lid model.

The search, per frame, starts from MaskParams as they are or the previous
frame's offsets, whichever reads closer: STEPS damped steps through the
read-out's sensitivity to each eye's drawn yaw, upper and lower lid (measured
on the avatar at rest), then a pattern search over yaw, pitch, upper and
lower lid with halving steps. Both eyes
move in the same renders; each eye keeps the offsets of its own best reading
(sum of the three measures' absolute errors; an eye the input shows near
shut, as in a blink, is steered on its aperture alone, as eye_fidelity.py
compares the iris position only in open eyes).

The search reads its renders with a FaceMesh of the score's kind. By default
the output is scored as eye_fidelity.py scores it, read as a video, and the
search's reader is a video reader too (its tracking state runs on from one
candidate render to the next, so it reads each candidate from about the face
box the score's reader will use). With --reader static both read still images:
the same picture always reads the same, so the search can fit that one read's
answer per picture, which a video read of the same pictures does not share
(docs/measurements.md, session 44).

Usage: python benchmarks/eye_fidelity_ceiling.py [--reader static] [clips...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit  # noqa: E402
from eye_fidelity import CLIPS  # noqa: E402

from realtime_mask.avatar_pool import load_avatar_pool  # noqa: E402
from realtime_mask.clinical.units import IRIS_RADIUS_MM  # noqa: E402
from realtime_mask.eye_fidelity import EyeTrace, compare  # noqa: E402
from realtime_mask.face_model.assets import load_face_model  # noqa: E402
from realtime_mask.face_model.eyes import eye_opening_measures  # noqa: E402
from realtime_mask.media import read_video  # noqa: E402
from realtime_mask.params import MaskParams  # noqa: E402
from realtime_mask.pipeline import FrameMasker  # noqa: E402
from realtime_mask.tracking import MediaPipeTracker  # noqa: E402

SIDES = ("left", "right")
MEASURES = ("h", "v", "aperture")
KNOBS = ("yaw_deg", "pitch_deg", "upper_lid", "lower_lid")
STEPS = 6
GAIN = 0.7                       # share of the predicted correction taken per step
RIDGE = 0.02                     # holds back the lower lid, which reads weakly
PATTERN_STEP = np.array([2.0, 2.0, 0.15, 0.3])   # degrees, degrees, iris radii, iris radii
PATTERN_ROUNDS = 3
LIMIT = np.array([15.0, 15.0, 2.0, 2.0])          # the furthest the drawing may move
SHUT = 0.12                      # input aperture / eye width under which only the aperture counts


def shifted(params: MaskParams, offsets: dict[str, np.ndarray]) -> MaskParams:
    p = params.rounded()
    for s in SIDES:
        eye = getattr(p, f"{s}_eye")
        for knob, d in zip(KNOBS, offsets[s]):
            setattr(eye, knob, getattr(eye, knob) + float(d))
    return p.rounded()


class Steerer:
    """Moves the drawn eyes until FaceMesh reads the render like the input."""

    def __init__(self, masker: FrameMasker, reader: MediaPipeTracker):
        self.masker, self.reader = masker, reader
        self.sensitivity = {s: self._sensitivity(s) for s in SIDES}

    def read(self, params: MaskParams) -> dict | None:
        landmarks = self.reader.track(self.masker.renderer.render(params))
        return None if landmarks is None else eye_opening_measures(landmarks)

    def _sensitivity(self, side: str) -> np.ndarray:
        """d(h, v, aperture) / d(yaw, upper, lower) on the avatar at rest (the
        lids move h and yaw moves v and the aperture little: only h's yaw
        column and the lids' (v, aperture) block are used)."""
        rest = MaskParams(face_present=True, confidence=1.0)
        columns = []
        for k, delta in ((0, 4.0), (2, 0.2), (3, 0.2)):
            reads = []
            for sign in (1, -1):
                off = {s: np.zeros(len(KNOBS)) for s in SIDES}
                off[side][k] = sign * delta
                reads.append(self.read(shifted(rest, off))[side])
            columns.append([(reads[0][m] - reads[1][m]) / (2 * delta) for m in MEASURES])
        return np.array(columns).T                       # (3 measures, 3 knobs)

    def steer(self, params: MaskParams, target: dict, start: dict) -> dict:
        best = {s: (np.inf, start[s].copy()) for s in SIDES}
        weight = {s: np.array([1.0, 1.0, 1.0]) if target[s]["aperture"] >= SHUT
                  else np.array([0.0, 0.0, 1.0]) for s in SIDES}

        def consider(offsets: dict) -> dict | None:
            got = self.read(shifted(params, offsets))
            if got is not None:
                for s in SIDES:
                    err = sum(w * abs(got[s][m] - target[s][m])
                              for w, m in zip(weight[s], MEASURES))
                    if err < best[s][0]:
                        best[s] = (err, offsets[s].copy())
            return got

        # MaskParams as they are, and the previous frame's offsets: each eye
        # steps on from the better of the two, so the search never ends worse
        # than the drawing it started from
        consider({s: np.zeros(len(KNOBS)) for s in SIDES})
        consider(start)
        current = {s: best[s][1].copy() for s in SIDES}
        for _ in range(STEPS):
            # the first read draws each eye at its better start together: a
            # new picture when the two eyes started from different offsets
            got = consider(current)
            if got is None:
                break
            for s in SIDES:
                miss = weight[s] * np.array([target[s][m] - got[s][m] for m in MEASURES])
                sens = self.sensitivity[s]
                current[s][0] += GAIN * miss[0] / sens[0, 0]
                lids = sens[1:, 1:]
                current[s][2:] += GAIN * np.linalg.solve(lids.T @ lids + RIDGE * np.eye(2),
                                                         lids.T @ miss[1:])
                current[s] = np.clip(current[s], -LIMIT, LIMIT)
        scale = PATTERN_STEP.copy()
        for _ in range(PATTERN_ROUNDS):
            for k in range(len(KNOBS)):
                for sign in (1, -1):
                    trial = {s: best[s][1].copy() for s in SIDES}
                    for s in SIDES:
                        trial[s][k] = np.clip(trial[s][k] + sign * scale[k], -LIMIT[k], LIMIT[k])
                    consider(trial)
            scale /= 2
        return {s: best[s][1] for s in SIDES}


def clip_ceiling(path: Path, avatar, still_images: bool) -> dict:
    rows_in, rows_out, moves = [], [], []
    offsets = {s: np.zeros(len(KNOBS)) for s in SIDES}
    with FrameMasker(640, 480, avatar=avatar) as masker, \
            MediaPipeTracker() as in_tracker, \
            MediaPipeTracker(static_image_mode=still_images) as out_tracker, \
            MediaPipeTracker(static_image_mode=still_images) as reader:
        steerer = Steerer(masker, reader)
        for rgb, t in read_video(path):
            lm_in = in_tracker.track(rgb)
            params = masker.measure(rgb, t)
            target = eye_opening_measures(lm_in) if lm_in is not None else None
            drawn = params.rounded()
            if params.face_present and target is not None:
                offsets = steerer.steer(params, target, offsets)
                drawn = shifted(params, offsets)
                moves.append(np.concatenate([offsets[s] for s in SIDES]))
            lm_out = (out_tracker.track(masker.renderer.render(drawn))
                      if params.face_present else None)
            rows_in.append(target)
            rows_out.append(eye_opening_measures(lm_out) if lm_out is not None else None)
    result = compare(EyeTrace.from_measures(rows_in), EyeTrace.from_measures(rows_out))
    steered = len(moves)
    moves = np.abs(np.array(moves)).reshape(-1, len(KNOBS))      # one row per eye and frame
    result["drawn_away_from_params"] = {
        "frames_steered": steered,
        **{knob: {"p50": round(float(np.percentile(moves[:, k], 50)), 2),
                  "p90": round(float(np.percentile(moves[:, k], 90)), 2)}
           for k, knob in enumerate(KNOBS)},
        "upper_lid_mm_p90": round(float(np.percentile(moves[:, 2], 90)) * IRIS_RADIUS_MM, 1),
    }
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="*", default=list(CLIPS))
    ap.add_argument("--reader", choices=("video", "static"), default="video",
                    help="how FaceMesh reads the renders, in the search and the score")
    args = ap.parse_args()
    pool = load_avatar_pool(load_face_model())
    results, errors = {}, []
    for i, name in enumerate(args.clips):
        path = SHARED_DATA / "videos" / name
        if not path.is_file():
            sys.exit(f"clip not found: {path}")
        for label, avatar in (("shared_avatar", "shared"),
                              (f"session_avatar_{pool[i % len(pool)]}", pool[i % len(pool)])):
            r = clip_ceiling(path, avatar, args.reader == "static")
            results.setdefault(name, {})[label] = r
            errors += [v for v in r["mae"].values() if v is not None]
            print(name, label, r["mae"], r["drawn_away_from_params"], file=sys.stderr)
    emit(f"eye_fidelity_ceiling_{args.reader}",
         {"clips": results, "mean_mae": round(float(np.mean(errors)), 4),
          "reader": args.reader, "target": 0.02})


if __name__ == "__main__":
    main()
