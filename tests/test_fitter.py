"""Correspondence and FaceFitter: anchors, pose against rendered ground truth,
mirrored clips, gaze direction, schema of the output."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import av
import cv2
import numpy as np
import pytest

from realtime_mask.face_model.correspondence import (
    ANCHORS, build_correspondence, correspondence_cache_file, load_correspondence,
    render_mean_face, similarity)
from realtime_mask.face_model.eyes import eye_opening_measures
from realtime_mask.face_model.fitter import (FaceFitter, angles_from_rotation,
                                             rotation_from_angles)
from realtime_mask.params import EXPRESSION_NAMES, MaskParams
from realtime_mask.tracking import Landmarks, MediaPipeTracker

ANCHOR_TOLERANCE_CM = 0.4


@lru_cache(maxsize=6)
def tracked_clip(path: str, flip: bool = False, max_frames: int = 100000):
    """Landmarks of the frames of a clip (tracking mode), optionally mirrored."""
    out = []
    with av.open(path) as c, MediaPipeTracker() as t:
        for i, frame in enumerate(c.decode(video=0)):
            if i >= max_frames:
                break
            rgb = frame.to_ndarray(format="rgb24")
            if flip:
                rgb = np.ascontiguousarray(cv2.flip(rgb, 1))
            out.append((float(frame.time), t.track(rgb)))
    return out


def fit_clip(model, path, flip=False, max_frames: int = 100000):
    fitter = FaceFitter(model)
    return [fitter.fit(lm, ts) for ts, lm in tracked_clip(str(path), flip, max_frames)]


@pytest.fixture(scope="module")
def fitter(face_model):
    return FaceFitter(face_model)


# ------------------------------------------------------------ correspondence

def test_correspondence_lands_near_multipie_anchors(face_model):
    corr = load_correspondence(face_model)
    errors = corr.anchor_errors(face_model)
    assert set(errors) == set(ANCHORS)
    bad = {k: round(v * 10, 1) for k, v in errors.items() if v > ANCHOR_TOLERANCE_CM}
    assert not bad, f"anchors off by more than {ANCHOR_TOLERANCE_CM * 10} mm: {bad}"


def test_correspondence_is_cached_by_model_and_mediapipe(face_model):
    import mediapipe

    corr = load_correspondence(face_model)
    path = correspondence_cache_file(face_model)
    assert path.is_file()
    assert face_model.cache_file.stem in path.name and mediapipe.__version__ in path.name
    again = load_correspondence(face_model)
    assert np.array_equal(corr.tri, again.tri) and np.array_equal(corr.bary, again.bary)
    # points lie on ICT face triangles with proper barycentric weights
    assert corr.tri.shape == (468, 3) and (corr.tri < 9409).all()
    assert np.allclose(corr.bary.sum(1), 1, atol=1e-5) and (corr.bary > -1e-6).all()
    # the jawline slides with the view, the nose bridge does not
    assert np.median(corr.spread[corr.contour]) > 2 * np.median(corr.spread[~corr.contour])


def test_building_leaves_the_callers_gl_context_alone(face_model):
    """The build draws with a private EGL context; a context the calling thread
    already uses (the avatar renderer's, in a FrameMasker) must keep working."""
    import moderngl

    ctx = moderngl.create_standalone_context(backend="egl")
    try:
        fbo = ctx.simple_framebuffer((8, 8))
        fbo.use()
        fbo.clear(1.0, 0.0, 0.0, 1.0)
        corr = build_correspondence(face_model, views=((0, 0), (12, 0), (-12, 0)))
        assert corr.anchor_errors(face_model)["nose_tip"] < ANCHOR_TOLERANCE_CM
        fbo.use()
        fbo.clear(0.0, 1.0, 0.0, 1.0)
        px = np.frombuffer(fbo.read(components=3), np.uint8).reshape(8, 8, 3)
        assert (px == (0, 255, 0)).all()
    finally:
        ctx.release()


# ------------------------------------------------------------ pose

@pytest.mark.parametrize("angles", [(0, 0, 0), (25, -10, 15), (-30, 20, -5), (10, 5, 40)])
def test_rotation_angles_round_trip(angles):
    r = rotation_from_angles(*angles)
    assert np.allclose(r @ r.T, np.eye(3)) and np.isclose(np.linalg.det(r), 1)
    h = angles_from_rotation(r)
    assert np.allclose((h.yaw_deg, h.pitch_deg, h.roll_deg), angles, atol=1e-6)


def test_rotation_sign_conventions():
    nose = np.array([0.0, 0.0, 1.0])
    top = np.array([0.0, 1.0, 0.0])
    assert (rotation_from_angles(20, 0, 0) @ nose)[0] > 0.3     # +yaw: nose to image right
    assert (rotation_from_angles(0, 20, 0) @ nose)[1] > 0.3     # +pitch: chin up, nose up
    assert (rotation_from_angles(0, 0, 20) @ top)[0] > 0.3      # +roll: top of head to image right


def test_similarity_recovers_a_known_pose_and_never_a_reflection():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3))
    r = rotation_from_angles(25, -10, 15)
    w = rng.uniform(0.5, 2.0, 40)
    s, r_fit, t = similarity(x, 3.0 * x @ r.T + (5.0, -2.0, 1.0), w)
    assert np.isclose(s, 3.0) and np.allclose(r_fit, r) and np.allclose(t, (5.0, -2.0, 1.0))
    # a mirrored point set is fitted with a rotation, not a reflection
    _, r_mirror, _ = similarity(x, x * (-1.0, 1.0, 1.0), w)
    assert np.isclose(np.linalg.det(r_mirror), 1.0)


@pytest.mark.parametrize("yaw,pitch", [(0, 0), (20, 0), (-20, 0), (0, 12), (0, -12), (15, 8)])
def test_head_pose_of_rendered_mean_face(face_model, fitter, yaw, pitch):
    """Ground truth: the ICT mean face rendered at a known head rotation."""
    rgb = render_mean_face(face_model, yaw, pitch)
    with MediaPipeTracker(static_image_mode=True) as t:
        lm = t.track(rgb)
    fitter.reset()
    out = fitter.fit(lm, 1.5)
    assert out.face_present and out.timestamp == 1.5
    assert abs(out.head.yaw_deg - yaw) < 4.0
    assert abs(out.head.pitch_deg - pitch) < 4.0
    assert abs(out.head.roll_deg) < 3.0
    # the neutral avatar reads as (nearly) no expression
    if (yaw, pitch) == (0, 0):
        assert out.expression.max() < 0.35


@pytest.mark.parametrize("pitch", [0, 8])
def test_head_pose_holds_while_the_persons_shape_is_learnt(face_model, pitch):
    """A still face in tracking mode: the reported head angles stay where the
    first frame put them while the fitter learns the person's shape (fitted
    with that shape, the mean face drawn 8 degrees up read 17 after 45 frames)."""
    rgb = render_mean_face(face_model, 0, pitch)
    fitter = FaceFitter(face_model)
    with MediaPipeTracker() as t:
        reads = [fitter.fit(t.track(rgb), i / 30).head.pitch_deg for i in range(45)]
    assert abs(reads[-1] - reads[0]) < 1.5
    assert abs(reads[-1] - pitch) < 3.0


# ------------------------------------------------------------ real clips

def test_mirrored_clip_flips_yaw_and_swaps_eyes(face_model, videos_dir):
    clip = videos_dir / "liveportrait_d0.mp4"
    a = fit_clip(face_model, clip)
    b = fit_clip(face_model, clip, flip=True)
    pairs = [(x, y) for x, y in zip(a, b) if x.face_present and y.face_present]
    assert len(pairs) > 0.9 * len(a)
    yaw = np.array([x.head.yaw_deg for x, _ in pairs])
    yaw_m = np.array([y.head.yaw_deg for _, y in pairs])
    assert np.sign(np.median(yaw)) == -np.sign(np.median(yaw_m))
    assert np.median(np.abs(yaw + yaw_m)) < 2.0          # per frame: yaw -> -yaw
    roll = np.array([x.head.roll_deg for x, _ in pairs])
    roll_m = np.array([y.head.roll_deg for _, y in pairs])
    assert np.median(np.abs(roll + roll_m)) < 2.0
    # the patient's left eye of the mirrored clip is the right eye of the original,
    # with its horizontal gaze reversed
    eye_yaw_m = np.array([y.left_eye.yaw_deg for _, y in pairs])
    eye_yaw = np.array([x.right_eye.yaw_deg for x, _ in pairs])
    assert np.corrcoef(eye_yaw_m, -eye_yaw)[0, 1] > 0.8


def test_mirrored_clip_swaps_the_eyes_lids(face_model, videos_dir):
    """liveportrait_d6 (first 11 s): the two eyes close unequally at times (a
    wink, one-sided squints). MediaPipe has a small image-side bias of its own,
    so compare the left-minus-right difference frame by frame: mirrored, it
    must be the original's right-minus-left."""
    clip = videos_dir / "liveportrait_d6.mp4"
    a = fit_clip(face_model, clip, max_frames=330)
    b = fit_clip(face_model, clip, flip=True, max_frames=330)
    pairs = [(x, y) for x, y in zip(a, b) if x.face_present and y.face_present]
    assert len(pairs) > 300
    def diffs(get):
        return (np.array([get(x.left_eye) - get(x.right_eye) for x, _ in pairs]),
                np.array([get(y.left_eye) - get(y.right_eye) for _, y in pairs]))

    diff, diff_m = diffs(lambda e: e.upper_lid)
    assert np.std(diff) > 0.1
    assert np.corrcoef(diff_m, -diff)[0, 1] > 0.7
    # yaw: left_m - right_m = (-yaw_right) - (-yaw_left) = the original difference
    diff, diff_m = diffs(lambda e: e.yaw_deg)
    assert np.std(diff) > 2.0
    assert np.corrcoef(diff_m, diff)[0, 1] > 0.6


def test_gaze_shifts_give_yaw_of_the_right_sign(face_model, videos_dir):
    """liveportrait_d0: strong left/right gaze shifts. When the iris moves
    towards image right within the eye, eye yaw must grow (+ = patient's left =
    image right), for each eye on its own."""
    clip = videos_dir / "liveportrait_d0.mp4"
    outs = fit_clip(face_model, clip)
    iris_x = {"left": [], "right": []}
    yaw = {"left": [], "right": []}
    for (_, lm), out in zip(tracked_clip(str(clip)), outs):
        if lm is None or max(out.left_eye.blink, out.right_eye.blink) > 0.3:
            continue
        m = eye_opening_measures(lm)
        # h runs from the inner to the outer corner: image right for the left
        # eye, image left for the right eye.
        iris_x["left"].append(m["left"]["h"])
        iris_x["right"].append(1.0 - m["right"]["h"])
        yaw["left"].append(out.left_eye.yaw_deg)
        yaw["right"].append(out.right_eye.yaw_deg)
    for side in ("left", "right"):
        x, y = np.array(iris_x[side]), np.array(yaw[side])
        assert np.ptp(y) > 20, f"{side}: gaze shifts of the clip not seen ({np.ptp(y):.1f} deg)"
        assert np.corrcoef(x, y)[0, 1] > 0.8
        # image-right gaze (top quartile of x) has larger yaw than image-left gaze
        assert y[x > np.quantile(x, 0.75)].mean() > y[x < np.quantile(x, 0.25)].mean() + 15


def test_output_is_only_mask_params(face_model, videos_dir):
    outs = fit_clip(face_model, videos_dir / "pyfeat_single_face.mp4")
    present = [o for o in outs if o.face_present]
    assert len(present) > 60
    fields = {f.name for f in dataclasses.fields(MaskParams)}
    assert fields == {"timestamp", "face_present", "confidence", "head", "expression",
                      "left_eye", "right_eye", "reflex_anchored", "avatar", "version"}
    for o in present:
        assert isinstance(o, MaskParams)
        assert o.expression.shape == (len(EXPRESSION_NAMES),)
        assert (o.expression >= 0).all() and (o.expression <= 1).all()
        assert 0 <= o.confidence <= 1
        d = o.to_dict()
        assert set(d) == {"version", "timestamp", "face_present", "confidence", "head",
                          "expression", "left_eye", "right_eye", "reflex_anchored", "avatar"}
        # ~50 numbers, no landmark array or identity vector rides along
        assert len(o.to_json()) < 2000
        assert MaskParams.from_json(o.to_json()).to_dict() == d
    # the clip's smile (about 1.5 s in) shows up as a smile
    smile = np.array([o.expression[EXPRESSION_NAMES.index("mouthSmile_L")] for o in present])
    assert smile[:10].mean() < 0.3 and smile[40:55].mean() > 0.5


def test_no_face_and_reset(face_model, videos_dir):
    clip = tracked_clip(str(videos_dir / "pyfeat_single_face.mp4"))
    fitter = FaceFitter(face_model)
    assert fitter.fit(None, 2.0).to_json() == MaskParams.no_face(2.0).to_json()
    first = [fitter.fit(lm, ts) for ts, lm in clip[:40]]
    assert np.abs(fitter.identity).sum() > 0
    fitter.reset()
    assert np.abs(fitter.identity).sum() == 0
    again = [fitter.fit(lm, ts) for ts, lm in clip[:40]]
    fresh = FaceFitter(face_model)
    clean = [fresh.fit(lm, ts) for ts, lm in clip[:40]]
    assert [o.to_json() for o in again] == [o.to_json() for o in clean]
    assert [o.to_json() for o in first] == [o.to_json() for o in clean]


def test_broken_landmarks_fail_closed_and_keep_the_session(face_model, videos_dir):
    clip = tracked_clip(str(videos_dir / "pyfeat_single_face.mp4"))
    ts, lm = clip[0]
    fitter = FaceFitter(face_model)
    reference = FaceFitter(face_model)
    nan = lm.points.copy()
    nan[5, 0] = np.nan
    collapsed = np.full_like(lm.points, 100.0)
    for bad in (nan, collapsed):
        out = fitter.fit(Landmarks(bad, lm.width, lm.height), ts)
        assert not out.face_present and out.timestamp == ts
    # the broken frames left no trace: same result as a fitter that never saw them
    assert fitter.fit(lm, ts).to_json() == reference.fit(lm, ts).to_json()
