"""MediaPipe tracker on real clips: finds the face, loses it when it leaves,
and the iris blocks sit on the documented sides."""

from __future__ import annotations

import av
import numpy as np
import pytest

from realtime_mask.tracking import (LEFT_EYE_CONTOUR, LEFT_IRIS, RIGHT_EYE_CONTOUR, RIGHT_IRIS,
                                    Landmarks, MediaPipeTracker, Tracker)


def decode(path, every: int = 1):
    """(timestamp, rgb) of every n-th frame of a clip."""
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i % every == 0:
                yield float(frame.time), frame.to_ndarray(format="rgb24")


def test_is_a_tracker():
    with MediaPipeTracker() as t:
        assert isinstance(t, Tracker)


def test_tracks_single_face_clip(videos_dir):
    found, total = 0, 0
    with MediaPipeTracker() as t:
        for _, rgb in decode(videos_dir / "pyfeat_single_face.mp4"):
            lm = t.track(rgb)
            total += 1
            if lm is None:
                continue
            found += 1
            assert lm.points.shape == (478, 3) and lm.points.dtype == np.float32
            assert (lm.width, lm.height) == (rgb.shape[1], rgb.shape[0])
            xy = lm.points[:, :2]
            assert (xy > 0).all() and (xy[:, 0] < lm.width).all() and (xy[:, 1] < lm.height).all()
    assert total == 72
    assert found >= 0.95 * total


def test_returns_none_once_face_is_gone(videos_dir):
    before, after = [], []
    with MediaPipeTracker() as t:
        for ts, rgb in decode(videos_dir / "pyfeat_face_noface.mov", every=2):
            found = t.track(rgb) is not None
            if ts < 2.4:
                before.append(found)
            elif ts > 3.0:
                after.append(found)
    assert np.mean(before) > 0.9
    assert len(after) > 20 and not any(after)


def test_iris_blocks_and_eye_sides(videos_dir):
    """Unmirrored frontal frame: the patient's left eye is on the image right,
    with iris 473..477 inside corners 362/263; 468..472 inside 133/33."""
    _, rgb = next(decode(videos_dir / "pyfeat_single_face.mp4"))
    with MediaPipeTracker(static_image_mode=True) as t:
        lm = t.track(rgb)
    p = lm.points
    assert p[LEFT_IRIS[0], 0] > p[RIGHT_IRIS[0], 0]
    for contour in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR):
        xs = sorted((p[contour.inner, 0], p[contour.outer, 0]))
        assert xs[0] < p[contour.iris[0], 0] < xs[1]
        # the four edge points surround the centre at a plausible iris radius
        r = np.linalg.norm(p[list(contour.iris[1:]), :2] - p[contour.iris[0], :2], axis=1)
        width = np.linalg.norm(p[contour.outer, :2] - p[contour.inner, :2])
        assert 0.1 * width < r.mean() < 0.35 * width
    # the left eye's corners are the image-right pair
    assert min(p[362, 0], p[263, 0]) > max(p[133, 0], p[33, 0])


def test_bad_frame_is_one_clear_error_and_tracker_keeps_working(videos_dir):
    _, rgb = next(decode(videos_dir / "pyfeat_single_face.mp4"))
    with MediaPipeTracker() as t:
        for bad in (np.zeros((10, 10), np.uint8), rgb.astype(np.float32), "frame"):
            with pytest.raises(ValueError, match="HxWx3 uint8"):
                t.track(bad)
        assert t.track(rgb) is not None
        t.reset()
        assert t.track(rgb) is not None


def test_landmarks_validate_and_mirror():
    with pytest.raises(ValueError):
        Landmarks(np.zeros((468, 3)), 640, 480)
    pts = np.random.default_rng(0).uniform(0, 400, (478, 3)).astype(np.float32)
    m = Landmarks(pts, 640, 480).mirrored()
    assert np.allclose(m.points[:, 0], 640 - pts[:, 0]) and np.allclose(m.points[:, 1:], pts[:, 1:])


def test_landmark_array_reads_the_wire_format_and_any_other_layout():
    """The fast read of FaceMesh's landmark list gives what the protobuf
    objects say, and falls back when a landmark's layout differs (a 0.0
    coordinate is left out of the wire format; visibility adds a field)."""
    from mediapipe.framework.formats import landmark_pb2

    from realtime_mask.tracking.mediapipe_tracker import landmark_array

    rng = np.random.default_rng(0)
    xyz = rng.uniform(-1, 1, (478, 3)).astype(np.float32)
    plain = landmark_pb2.NormalizedLandmarkList(
        landmark=[landmark_pb2.NormalizedLandmark(x=a, y=b, z=c) for a, b, c in xyz])
    assert np.array_equal(landmark_array(plain.SerializeToString()), xyz)
    odd = xyz.copy()
    odd[5, 2] = 0.0
    zero = landmark_pb2.NormalizedLandmarkList(
        landmark=[landmark_pb2.NormalizedLandmark(x=a, y=b, z=c) for a, b, c in odd])
    assert np.array_equal(landmark_array(zero.SerializeToString()), odd)
    seen = landmark_pb2.NormalizedLandmarkList(
        landmark=[landmark_pb2.NormalizedLandmark(x=a, y=b, z=c, visibility=0.5) for a, b, c in xyz])
    assert np.array_equal(landmark_array(seen.SerializeToString()), xyz)


@pytest.mark.parametrize("static", [False, True])
def test_lean_graph_call_gives_what_process_gives(videos_dir, static):
    """first_face_wire() feeds FaceMesh's graph itself: frame by frame it must
    give the landmarks FaceMesh.process() gives, and None where the face has
    left (the clip's end)."""
    import mediapipe as mp

    from realtime_mask.tracking.mediapipe_tracker import first_face_wire, landmark_array

    def mesh():
        return mp.solutions.face_mesh.FaceMesh(static_image_mode=static, max_num_faces=1,
                                               refine_landmarks=True)

    faces, empty = 0, 0
    with mesh() as public, mesh() as lean:
        for _, rgb in decode(videos_dir / "pyfeat_face_noface.mov", every=4):
            rgb = np.ascontiguousarray(rgb)
            found = public.process(rgb).multi_face_landmarks
            wire = first_face_wire(lean, rgb)
            assert (wire is None) == (not found)
            if found:
                faces += 1
                assert np.array_equal(landmark_array(wire),
                                      landmark_array(found[0].SerializeToString()))
            else:
                empty += 1
    assert faces > 5 and empty > 5
