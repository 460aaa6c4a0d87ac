"""The pool of session avatars: random faces checked to show the eyes faithfully.

A random face changes how FaceMesh reads the (identical) eye region around it:
on some faces the iris reads a few hundredths of the eye width off, or a closed
lid is not seen as closed, and the doctor's picture would misstate the eye signs.
So the session avatars are drawn from a pool of candidate faces that passed a
check against the mean face: eye poses rendered on both must read the same
(iris position, aperture), closed lids must read closed, and a short blink in
tracking mode must be seen. The pool depends
only on ICT and MediaPipe, so it is built once into the cache folder.
"""

from __future__ import annotations

import json
import secrets

import numpy as np

from .face_model.assets import FaceModel, cache_dir, write_cache
from .face_model.correspondence import in_own_thread
from .face_model.eyes import eye_opening_measures
from .params import EyeParams, HeadPose, MaskParams

# Bump when the avatars' rendering changes: the check reads renders, and a
# cached pool is otherwise kept (a v5 cache built before later rendering
# changes stayed in use; a fresh machine built another pool, 5 of 16 faces
# different). 6 was a reverted pitch check's, 8 a reverted even lighting's;
# 9: the expression blend's rounding.
POOL_VERSION = 9
POOL_SIZE = 16
# About one candidate in ten passes (16 of the first 141 with pool v7). A pool
# cut short makes two sessions of one person share a face more often: with 12
# faces, privacy.py's masked-vs-masked rank-1 rose to 0.235 (0.204 with 16).
MAX_CANDIDATES = 320
FIRST_CANDIDATE = 1001
# Mean absolute read-out differences from the mean face over the open-eye probes
# (FaceMesh itself varies by ~0.01 between near-identical renders), and the
# largest aperture a closed eye may read.
MAX_H_DIFF = 0.018          # iris position between the corners, fraction of eye width
MAX_APERTURE_DIFF = 0.022   # aperture / eye width
MAX_CLOSED_APERTURE = 0.15
BLINK_FRACTION = 0.45       # as eye_fidelity's closed-eye threshold


def _probes() -> list[MaskParams]:
    def eyes(yaw=0.0, pitch=0.0, upper=0.75, lower=0.95, head=HeadPose()):
        e = EyeParams(yaw, pitch, upper, lower)
        return MaskParams(face_present=True, confidence=1.0, head=head, left_eye=e, right_eye=e)

    return [eyes(), eyes(yaw=-20), eyes(yaw=20), eyes(pitch=12), eyes(upper=0.1),
            eyes(upper=1.2), eyes(head=HeadPose(15, 5, 0), yaw=10),
            eyes(upper=-0.8, lower=0.8)]          # closed: the last probe


def _read(renderer, tracker, probes) -> list[dict | None]:
    out = []
    for p in probes:
        lm = tracker.track(renderer.render(p))
        out.append(eye_opening_measures(lm) if lm is not None else None)
    return out


def blink_is_seen(renderer, open_probe: MaskParams, closed_probe: MaskParams) -> bool:
    """In tracking mode (as in a live call) a 4-frame blink must read as closed:
    on some faces FaceMesh keeps the eye open through it."""
    from .tracking import MediaPipeTracker

    with MediaPipeTracker(static_image_mode=False) as tracker:
        sequence = [open_probe] * 10 + [closed_probe] * 4
        rows = _read(renderer, tracker, sequence)
    if any(r is None for r in rows):
        return False
    for side in ("left", "right"):
        open_level = np.median([r[side]["aperture"] for r in rows[:10]])
        closed_level = min(r[side]["aperture"] for r in rows[10:])
        if closed_level > BLINK_FRACTION * open_level:
            return False
    return True


def passes(reference: list[dict | None], candidate: list[dict | None]) -> bool:
    *open_ref, closed_ref = reference
    *open_cand, closed_cand = candidate
    if closed_cand is None or any(c is None for c in open_cand):
        return False
    pairs = [(r[s], c[s]) for r, c in zip(open_ref, open_cand) if r is not None
             for s in ("left", "right")]
    h_diff = np.mean([abs(r["h"] - c["h"]) for r, c in pairs])
    aperture_diff = np.mean([abs(r["aperture"] - c["aperture"]) for r, c in pairs])
    closed = max(closed_cand[s]["aperture"] for s in ("left", "right"))
    return bool(h_diff <= MAX_H_DIFF and aperture_diff <= MAX_APERTURE_DIFF
                and closed <= MAX_CLOSED_APERTURE)


def build_avatar_pool(model: FaceModel) -> list[int]:
    def build() -> list[int]:
        from .render.avatars import SHARED_AVATAR, avatar_renderer
        from .tracking import MediaPipeTracker

        probes = _probes()
        with MediaPipeTracker(static_image_mode=True) as tracker:
            # the lids as the eye calibration draws them: which faces pass
            # does not move with how far the avatar lifts a lid
            mean = avatar_renderer(model, SHARED_AVATAR, lid_shapes_only=True)
            reference = _read(mean, tracker, probes)
            mean.close()
            pool = []
            for seed in range(FIRST_CANDIDATE, FIRST_CANDIDATE + MAX_CANDIDATES):
                renderer = avatar_renderer(model, seed, lid_shapes_only=True)
                try:
                    if (passes(reference, _read(renderer, tracker, probes))
                            and blink_is_seen(renderer, probes[0], probes[-1])):
                        pool.append(seed)
                finally:
                    renderer.close()
                if len(pool) == POOL_SIZE:
                    break
        if len(pool) < POOL_SIZE // 2:
            raise RuntimeError(f"only {len(pool)} of {MAX_CANDIDATES} candidate avatars "
                               "show the eyes faithfully")
        return pool

    return in_own_thread(build)


def pool_cache_file(model: FaceModel):
    import mediapipe

    return cache_dir() / (f"avatar-pool-v{POOL_VERSION}-{model.cache_file.stem}"
                          f"-mp{mediapipe.__version__}.json")


def load_avatar_pool(model: FaceModel) -> list[int]:
    path = pool_cache_file(model)
    if path.is_file():
        return json.loads(path.read_text())["seeds"]
    pool = build_avatar_pool(model)
    write_cache(path, lambda tmp: tmp.write_text(json.dumps({"seeds": pool})))
    return pool


def draw_session_avatar(pool: list[int]) -> int:
    return secrets.choice(pool)
