"""The session avatar pool: faces that show the eyes like the mean face does."""

from __future__ import annotations

from realtime_mask.avatar_pool import (MAX_PITCH_DIFF_DEG, POOL_SIZE, _probes, draw_session_avatar,
                                       load_avatar_pool, passes, pitch_passes, pitch_read)


def reading(h, aperture, closed=0.05):
    open_eye = {s: {"h": h, "v": 0.5, "aperture": aperture} for s in ("left", "right")}
    shut = {s: {"h": 0.5, "v": 0.5, "aperture": closed} for s in ("left", "right")}
    return [open_eye, open_eye, shut]


def test_check_rejects_faces_that_misstate_the_eyes():
    ref = reading(0.5, 0.35)
    assert passes(ref, reading(0.51, 0.36))
    assert not passes(ref, reading(0.55, 0.35))              # iris reads off
    assert not passes(ref, reading(0.5, 0.40))               # aperture reads off
    assert not passes(ref, reading(0.5, 0.35, closed=0.3))   # a closed lid reads open
    assert not passes(ref, [None, *reading(0.5, 0.35)[1:]])  # face lost on a probe


def test_pool_is_distinct_random_faces_and_cached(face_model):
    pool = load_avatar_pool(face_model)
    assert POOL_SIZE // 2 <= len(pool) <= POOL_SIZE
    assert len(set(pool)) == len(pool) and 0 not in pool
    assert load_avatar_pool(face_model) == pool
    assert {draw_session_avatar(pool) for _ in range(200)} == set(pool)


def test_the_pitch_check_rejects_a_face_read_as_pitched(face_model):
    """Face 1138 (in the pool before the pitch check) reads about 14 degrees
    more head pitch than the mean face, eyes included; the pool's faces read
    within MAX_PITCH_DIFF_DEG of it."""
    from realtime_mask.face_model.fitter import FaceFitter
    from realtime_mask.render.avatars import SHARED_AVATAR, avatar_renderer

    fitter, probe = FaceFitter(face_model), _probes()[0]
    reads = {}
    for seed in (SHARED_AVATAR, 1138, load_avatar_pool(face_model)[0]):
        renderer = avatar_renderer(face_model, seed)
        try:
            reads[seed] = pitch_read(fitter, renderer, probe)
        finally:
            renderer.close()
    mean, pitched, pooled = reads.values()
    assert pitched[0] - mean[0] > 2 * MAX_PITCH_DIFF_DEG
    assert not pitch_passes(mean, pitched)
    assert pitch_passes(mean, pooled)
    assert not pitch_passes(mean, None)
