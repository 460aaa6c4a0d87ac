"""FrameMasker on real clips: fail-closed, re-renderable from MaskParams alone."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from realtime_mask.media import read_video
from realtime_mask.params import MaskParams


@pytest.fixture(scope="module")
def masker():
    from realtime_mask.pipeline import FrameMasker

    with FrameMasker(320, 240) as m:
        yield m


def test_every_frame_re_renders_from_its_saved_params(masker, face_model, videos_dir, tmp_path):
    from realtime_mask.params import read_jsonl, write_jsonl
    from realtime_mask.render.avatars import avatar_renderer

    masker.reset()
    results = [masker.process(rgb, t) for rgb, t in
               itertools.islice(read_video(videos_dir / "pyfeat_single_face.mp4"), 40)]
    assert sum(r.params.face_present for r in results) >= 36
    path = tmp_path / "p.jsonl"
    write_jsonl(path, [r.params for r in results])
    # a fresh renderer that never saw the input, for the session's avatar
    renderer = avatar_renderer(face_model, results[0].params.avatar, 320, 240)
    try:
        for r, saved in zip(results, read_jsonl(path)):
            assert np.array_equal(renderer.render(saved), r.frame)
    finally:
        renderer.close()


def test_output_does_not_depend_on_the_input_pixels_beyond_params(masker, videos_dir):
    # Same params from a different camera frame must give the same output: the
    # renderer cannot see the input. Brightening the input changes pixels but
    # the frame is only a function of the fitted params.
    masker.reset()
    rgb, t = next(read_video(videos_dir / "pyfeat_single_face.mp4"))
    a = masker.process(rgb, t)
    from realtime_mask.render.avatars import avatar_renderer
    r = avatar_renderer(masker.model, a.params.avatar, 320, 240)
    try:
        assert np.array_equal(r.render(a.params), a.frame)
    finally:
        r.close()
    # no camera pixel: the output's background is the renderer's, not the room's
    corner_out = a.frame[:20, :20].reshape(-1, 3)
    assert np.ptp(corner_out, axis=0).max() <= 2


def test_face_leaving_gives_placeholder_frames(masker, videos_dir):
    masker.reset()
    results = [masker.process(rgb, t) for rgb, t in read_video(videos_dir / "pyfeat_face_noface.mov")]
    times = np.array([r.params.timestamp for r in results])
    present = np.array([r.params.face_present for r in results])
    assert present[times < 2.0].mean() > 0.9
    assert not present[times > 3.2].any()
    placeholder = masker.renderer.render(MaskParams.no_face(0.0))
    late = [r for r in results if r.params.timestamp > 3.2]
    assert late and all(np.array_equal(r.frame, placeholder) for r in late)


def test_sessions_do_not_share_state(masker, videos_dir):
    def without_avatar(p: MaskParams) -> dict:
        d = p.to_dict()
        return {k: v for k, v in d.items() if k != "avatar"}

    frames = list(itertools.islice(read_video(videos_dir / "grid_bbaf2n.mpg"), 5))
    masker.reset()
    first = [masker.process(rgb, t).params for rgb, t in frames]
    masker.reset()
    for rgb, t in itertools.islice(read_video(videos_dir / "pyfeat_single_face.mp4"), 10):
        masker.process(rgb, t)
    masker.reset()
    again = [masker.process(rgb, t).params for rgb, t in frames]
    assert [without_avatar(p) for p in first] == [without_avatar(p) for p in again]
    # each session draws an avatar face from the checked pool, constant within the session
    from realtime_mask.avatar_pool import load_avatar_pool

    pool = load_avatar_pool(masker.model)
    assert len({p.avatar for p in first}) == 1 and len({p.avatar for p in again}) == 1
    assert first[0].avatar in pool and again[0].avatar in pool


def test_a_session_can_be_given_its_face(masker, videos_dir):
    """Benchmarks draw session faces with their own seed to be repeatable."""
    from realtime_mask.avatar_pool import load_avatar_pool

    pool = load_avatar_pool(masker.model)
    rgb, t = next(read_video(videos_dir / "pyfeat_single_face.mp4"))
    frames = {}
    for seed in (pool[0], pool[1], pool[0]):
        masker.reset(avatar=seed)
        r = masker.process(rgb, t)
        assert r.params.avatar == seed
        frames.setdefault(seed, []).append(r.frame)
    assert np.array_equal(*frames[pool[0]])
    assert np.abs(frames[pool[0]][0].astype(int) - frames[pool[1]][0]).mean() > 2


def test_shared_avatar_mode_renders_the_mean_face(face_model, videos_dir):
    from realtime_mask.pipeline import FrameMasker

    rgb, t = next(read_video(videos_dir / "pyfeat_single_face.mp4"))
    with FrameMasker(320, 240, avatar="shared") as shared, FrameMasker(320, 240) as own:
        a, b = shared.process(rgb, t), own.process(rgb, t)
        assert a.params.avatar == 0 and b.params.avatar != 0
        # same movement, different face: the frames differ outside the background
        assert np.abs(a.frame.astype(int) - b.frame.astype(int)).mean() > 2


def test_bad_frames_are_refused_clearly(masker):
    with pytest.raises(ValueError, match="RGB uint8"):
        masker.process(np.zeros((10, 10), np.uint8), 0.0)
    with pytest.raises(ValueError, match="output"):
        masker.process(np.zeros((10, 10, 3), np.uint8), 0.0, output="bgr")
    # after bad input the masker still works and fails closed on an empty frame
    r = masker.process(np.zeros((240, 320, 3), np.uint8), 0.0)
    assert not r.params.face_present


def test_measure_gives_the_params_process_gives(masker, videos_dir):
    """What a benchmark re-tracking avatars uses: the same tracking, eye pixels
    (every few frames) and fit as `process`, without the render."""
    from realtime_mask.pipeline import EYE_IMAGE_EVERY

    frames = list(itertools.islice(read_video(videos_dir / "pyfeat_single_face.mp4"),
                                   3 * EYE_IMAGE_EVERY))
    masker.reset()
    processed = [masker.process(rgb, t).params for rgb, t in frames]
    masker.reset()
    measured = [masker.measure(rgb, t) for rgb, t in frames]
    assert any(p.face_present for p in processed)
    for p, m in zip(processed, measured):
        m.avatar = p.avatar
        assert m.rounded().to_dict() == p.to_dict()


def test_the_masker_keeps_blas_to_one_thread(masker):
    """The per-frame math is small; OpenBLAS's threads would only wait on each
    other there (a 4x4 inverse took ms on a busy machine)."""
    from threadpoolctl import threadpool_info

    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)
