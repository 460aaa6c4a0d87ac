"""The session avatar pool: faces that show the eyes like the mean face does."""

from __future__ import annotations

from realtime_mask.avatar_pool import POOL_SIZE, draw_session_avatar, load_avatar_pool, passes


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
