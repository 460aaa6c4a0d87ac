"""AvatarRenderer on a real EGL context, checked with real MediaPipe FaceMesh.

FaceMesh iris indices, found empirically on frontal renders: 468-472 is the
iris of the image-left eye (between corners 33 and 133: the patient's right
eye), 473-477 the image-right eye (between 362 and 263: the patient's left).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from realtime_mask.params import EyeParams, HeadPose, MaskParams

W, H = 640, 480
# image-left eye = patient's right eye; image-right eye = patient's left eye
EYES = {
    "image_left": dict(iris=468, corners=(33, 133), lids=((160, 144), (159, 145), (158, 153))),
    "image_right": dict(iris=473, corners=(362, 263), lids=((385, 380), (386, 374), (387, 373))),
}


@dataclass
class EyeReading:
    iris_t: float       # iris x between the eye's corners, 0 = image-left corner, 1 = image-right
    aperture: float     # lid opening / eye width (mean of three upper/lower lid pairs)


@pytest.fixture(scope="module")
def renderer(face_model):
    from realtime_mask.render import AvatarRenderer

    r = AvatarRenderer(face_model, W, H)
    yield r
    r.close()


@pytest.fixture(scope="module")
def face_mesh():
    import mediapipe as mp

    fm = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True,
                                         max_num_faces=1)
    yield fm
    fm.close()


def track(face_mesh, rgb: np.ndarray) -> np.ndarray | None:
    res = face_mesh.process(rgb)
    if not res.multi_face_landmarks:
        return None
    h, w = rgb.shape[:2]
    return np.array([(p.x * w, p.y * h) for p in res.multi_face_landmarks[0].landmark])


def read_eyes(pts: np.ndarray) -> dict[str, EyeReading]:
    out = {}
    for name, e in EYES.items():
        a, b = pts[e["corners"][0]], pts[e["corners"][1]]
        left, right = (a, b) if a[0] < b[0] else (b, a)
        width = np.linalg.norm(right - left)
        t = (pts[e["iris"], 0] - left[0]) / (right[0] - left[0])
        opening = np.mean([np.linalg.norm(pts[lo] - pts[up]) for up, lo in e["lids"]])
        out[name] = EyeReading(iris_t=float(t), aperture=float(opening / width))
    return out


def face(**kw) -> MaskParams:
    return MaskParams(face_present=True, confidence=1.0, **kw)


def tracked(face_mesh, renderer, params: MaskParams) -> np.ndarray:
    pts = track(face_mesh, renderer.render(params))
    assert pts is not None, f"FaceMesh lost the avatar for {params.to_json()}"
    return pts


# ------------------------------------------------------------------ tracking

def test_neutral_render_is_tracked_at_the_intended_scale(renderer, face_mesh):
    img = renderer.render(face())
    assert img.shape == (H, W, 3) and img.dtype == np.uint8
    pts = tracked(face_mesh, renderer, face())
    face_height = (pts[152, 1] - pts[10, 1]) / H          # forehead to chin
    assert 0.5 < face_height < 0.7
    centre = pts[:468].mean(0)
    assert abs(centre[0] - W / 2) < 0.08 * W and abs(centre[1] - H / 2) < 0.12 * H
    # the irises sit between their eye corners
    for r in read_eyes(pts).values():
        assert 0.3 < r.iris_t < 0.7
        assert r.aperture > 0.2


@pytest.mark.parametrize("yaw", [-20.0, 20.0])
def test_head_yaw_is_tracked_and_turns_the_right_way(renderer, face_mesh, yaw):
    nose0 = tracked(face_mesh, renderer, face())[1]
    nose = tracked(face_mesh, renderer, face(head=HeadPose(yaw_deg=yaw)))[1]
    # + yaw = the patient turns to their left = towards image right
    assert np.sign(nose[0] - nose0[0]) == np.sign(yaw)
    assert abs(nose[0] - nose0[0]) > 0.05 * W


def test_head_pitch_and_roll_signs(renderer, face_mesh):
    nose0 = tracked(face_mesh, renderer, face())[1]
    up = tracked(face_mesh, renderer, face(head=HeadPose(pitch_deg=15)))[1]
    assert up[1] < nose0[1] - 10                        # chin up: the nose rises in the image
    pts = tracked(face_mesh, renderer, face(head=HeadPose(roll_deg=15)))
    # + roll tilts the head top towards image right, so the image-right eye drops
    assert pts[263, 1] > pts[33, 1] + 10


def test_eye_yaw_moves_only_that_eye(renderer, face_mesh):
    base = read_eyes(tracked(face_mesh, renderer, face()))
    turned = read_eyes(tracked(face_mesh, renderer, face(left_eye=EyeParams(yaw_deg=20.0))))
    # the patient's left eye is the image-right eye; + yaw = towards image right
    assert turned["image_right"].iris_t - base["image_right"].iris_t > 0.08
    assert abs(turned["image_left"].iris_t - base["image_left"].iris_t) < 0.03


def test_eye_pitch_moves_the_iris_within_the_opening(renderer, face_mesh):
    base = tracked(face_mesh, renderer, face())
    up = tracked(face_mesh, renderer, face(right_eye=EyeParams(pitch_deg=15.0),
                                           left_eye=EyeParams(pitch_deg=15.0)))
    for iris in (468, 473):
        assert up[iris, 1] < base[iris, 1] - 2


def test_ptosis_narrows_only_that_eye(renderer, face_mesh):
    base = read_eyes(tracked(face_mesh, renderer, face()))
    droop = read_eyes(tracked(face_mesh, renderer, face(left_eye=EyeParams(upper_lid=-0.3))))
    assert droop["image_right"].aperture < 0.75 * base["image_right"].aperture
    assert abs(droop["image_left"].aperture - base["image_left"].aperture) \
        < 0.1 * base["image_left"].aperture


def test_closed_lids_have_no_aperture(renderer, face_mesh):
    closed = EyeParams(upper_lid=-0.9, lower_lid=0.9, blink=1.0)
    base = read_eyes(tracked(face_mesh, renderer, face()))
    shut = read_eyes(tracked(face_mesh, renderer, face(left_eye=closed, right_eye=closed)))
    for name in EYES:
        # FaceMesh keeps a lid-thickness offset on closed eyes (~0.05-0.1 on real ones too)
        assert shut[name].aperture < 0.12
        assert shut[name].aperture < 0.35 * base[name].aperture


def test_closed_lids_hide_the_eyeball(face_model):
    """No iris or sclera pixel may show through a closed lid, even looking up.
    A vivid blue iris makes any leak unambiguous (lashes and brows are brown)."""
    from realtime_mask.render import Appearance, AvatarRenderer

    look = Appearance(iris_rgb=(0.1, 0.2, 0.95))
    band = slice(int(0.34 * H), int(0.46 * H))       # the eyes, below the brows

    def leaks(im: np.ndarray) -> tuple[int, int]:
        im = im[band].astype(int)
        blue = (im[..., 2] - im[..., 0] > 60).sum()
        white = (im.min(2) > 200).sum()
        return int(blue), int(white)

    with AvatarRenderer(face_model, W, H, appearance=look) as r:
        for pitch in (0.0, 20.0, -15.0):
            open_eye = EyeParams(pitch_deg=pitch)
            closed = EyeParams(upper_lid=-0.9, lower_lid=0.9, pitch_deg=pitch)
            blue, white = leaks(r.render(face(left_eye=open_eye, right_eye=open_eye)))
            assert blue > 100 and white > 50             # iris and sclera when open
            assert leaks(r.render(face(left_eye=closed, right_eye=closed))) == (0, 0), pitch



@pytest.mark.parametrize("seed", [100, 104])
def test_closed_lids_hide_the_eyeball_of_synthetic_patients(face_model, seed):
    """Some synthetic faces have eyes further forward than ICT's blink shape
    allows for: their cornea poked through the shut lids, so MediaPipe saw an
    open eye and the patient's blinks went missing. Shut lids must hide the
    eyeball whatever it does behind them."""
    from realtime_mask.synth.render import PatientRenderer

    with PatientRenderer(face_model, seed) as person:
        def shut(yaw: float, pitch: float) -> np.ndarray:
            eye = EyeParams(yaw_deg=yaw, pitch_deg=pitch, upper_lid=-0.9, lower_lid=0.9)
            return person.render(face(left_eye=eye, right_eye=eye))

        ref = shut(0.0, 0.0)
        for yaw, pitch in ((25.0, 0.0), (-25.0, 10.0), (0.0, -20.0)):
            assert np.array_equal(shut(yaw, pitch), ref), (yaw, pitch)
        open_eye = EyeParams(yaw_deg=25.0)
        assert not np.array_equal(person.render(face(left_eye=open_eye, right_eye=open_eye)),
                                  person.render(face()))

def _pupil_offsets(r, params: MaskParams) -> dict[str, np.ndarray]:
    """Per eye: centroid of the painted pupil minus where the renderer's gaze
    rotation puts the iris centre (pixels)."""
    dark = (r.render(params).max(axis=2) < 12).astype(np.uint8)
    _, _, stats, centroids = cv2.connectedComponentsWithStats(dark)
    out = {}
    for side, eye in (("L", params.left_eye), ("R", params.right_eye)):
        target = r.project(r.lids[side].eyeball.iris_centre(eye.yaw_deg, eye.pitch_deg),
                           params.head)
        k = 1 + int(np.argmin(np.linalg.norm(centroids[1:] - target, axis=1)))
        assert stats[k, cv2.CC_STAT_AREA] > 10, (side, params.to_json())
        out[side] = centroids[k] - target
    return out


def test_painted_iris_sits_where_the_gaze_puts_it_on_every_face(face_model):
    """The iris is painted around the eyeball's own axis. Painted by the mesh's
    UVs, it sat up to 2 px (several degrees of gaze) off that axis, differently
    on each face: the synthetic patients' true gaze was not what they showed,
    and the avatar showed a small squint of its own."""
    from realtime_mask.render import AvatarRenderer
    from realtime_mask.synth.render import random_identity

    # Straight eyes: the pupil, painted on the cornea in front of the iris
    # plane, is then in line with the iris centre up to perspective.
    poses = [face(), face(head=HeadPose(yaw_deg=10, pitch_deg=5))]
    with AvatarRenderer(face_model, W, H) as mean:
        reference = [_pupil_offsets(mean, p) for p in poses]
    for seed in (304, 305):
        identity = random_identity(seed, face_model.identity_deltas.shape[0])
        with AvatarRenderer(face_model, W, H, identity=identity) as r:
            for p, ref in zip(poses, reference):
                for side, offset in _pupil_offsets(r, p).items():
                    assert np.abs(offset - ref[side]).max() < 0.35, (seed, side, offset, ref[side])


# ------------------------------------------------------------------ frames

def test_gaze_direction_is_the_gaze_rotations_axis_bit_for_bit(face_model):
    from realtime_mask.render import AvatarRenderer
    from realtime_mask.render.eye_model import gaze_rotation

    with AvatarRenderer(face_model, 64, 48, fixate_camera=True) as r:
        eyeball = r.lids["L"].eyeball
    assert eyeball.fixation_yaw_deg != 0
    rng = np.random.default_rng(0)
    for yaw, pitch in rng.uniform(-60, 60, (2000, 2)):
        expected = gaze_rotation(yaw + eyeball.fixation_yaw_deg, pitch)[:, 2]
        assert np.array_equal(eyeball.gaze_direction(yaw, pitch), expected)


def test_the_blend_adds_each_weighted_shape_into_the_mesh(renderer):
    # saxpy adds into a view of the output in place: a copy anywhere on the
    # way would leave the neutral mesh, and a wrong stride a garbled one
    mesh = renderer.mesh
    weights = np.zeros(len(mesh.deltas))
    some = np.flatnonzero(mesh.moves)[::3]
    weights[some] = np.linspace(0.2, 1.0, len(some))
    out = np.empty_like(mesh.base)
    mesh.blend(weights, out)
    expected = mesh.base + np.tensordot(weights, mesh.deltas.astype(np.float64), axes=1)
    assert np.abs(out - expected).max() < 1e-5
    assert np.abs(out - mesh.base).max() > 0.1       # cm: the shapes did move it
    # OpenBLAS splits a long saxpy between its threads: the bytes must not
    # depend on that, or a saved frame would not re-render bit for bit
    from threadpoolctl import threadpool_limits

    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            again = np.empty_like(mesh.base)
            mesh.blend(weights, again)
        assert np.array_equal(again, out), threads
    # band by band, as the renderer blends, the rows add up to the same bits
    banded = np.empty_like(mesh.base)
    for _, _, rows in renderer._surface_bands:
        mesh.blend(weights, banded, rows)
    mesh.blend(weights, banded, slice(7, 7))          # an empty band blends nothing
    assert np.array_equal(banded, out)
    with pytest.raises(ValueError, match="contiguous"):
        mesh.blend(weights, np.empty((mesh.base.shape[1], len(mesh.base)), np.float32).T)


def test_identical_params_give_identical_bytes(renderer):
    p = face(head=HeadPose(yaw_deg=7.5, pitch_deg=-3, roll_deg=2),
             left_eye=EyeParams(yaw_deg=-5, upper_lid=0.3), expression=np.linspace(0, 0.4, 39))
    other = face(head=HeadPose(yaw_deg=-12))
    a, ya = renderer.render(p), renderer.render_yuv420(p)
    renderer.render(other)
    renderer.render_yuv420(other)
    b, yb = renderer.render(p.rounded()), renderer.render_yuv420(p.rounded())
    c = renderer.render(p)
    assert np.array_equal(a, c) and np.array_equal(ya, renderer.render_yuv420(p))
    assert not np.array_equal(a, renderer.render(other))
    # a JSON round trip moves values by < 1e-4: at most a few pixels change
    assert np.mean(a != b) < 0.01 and np.mean(ya != yb) < 0.01
    # each frame is the caller's to keep (the relay queues them uncopied)
    assert not np.shares_memory(ya, yb)
    gone = MaskParams.no_face()
    assert not np.shares_memory(renderer.render_yuv420(gone), renderer.render_yuv420(gone))


def test_the_face_drawn_in_flushed_bands_gives_the_pixels_of_one_draw(renderer, face_model,
                                                                     monkeypatch):
    import realtime_mask.render.renderer as R
    from realtime_mask.render.gl_flush import HAS_FLUSH

    assert HAS_FLUSH          # else the bands draw in turn, with no overlap
    bands = renderer._surface_bands
    assert len(bands) == R.SURFACE_BANDS > 1
    # the bands cover every triangle once, in order, and every vertex row once;
    # a band's triangles use only rows blended by the time it is drawn
    index = renderer.mesh.surface_index
    assert bands[0][0] == 0 and all(a + n == b for (a, n, _), (b, _, _) in zip(bands, bands[1:]))
    assert sum(n for _, n, _ in bands) == len(index)
    assert bands[0][2].start == 0 and bands[-1][2].stop == len(renderer.mesh.base)
    assert all(r.stop == q.start for (_, _, r), (_, _, q) in zip(bands, bands[1:]))
    assert all(index[a:a + n].max() < r.stop for a, n, r in bands)
    monkeypatch.setattr(R, "SURFACE_BANDS", 1)
    whole = R.AvatarRenderer(face_model, W, H)
    try:
        assert len(whole._surface_bands) == 1
        rng = np.random.default_rng(3)
        for _ in range(6):
            p = face(head=HeadPose(*rng.uniform(-30, 30, 3)),
                     left_eye=EyeParams(*rng.uniform(-20, 20, 2)),
                     right_eye=EyeParams(*rng.uniform(-20, 20, 2)),
                     expression=rng.uniform(0, 0.6, 39))
            assert np.array_equal(renderer.render(p), whole.render(p))
    finally:
        whole.close()


def test_yuv420_matches_cv2(renderer):
    p = face(head=HeadPose(yaw_deg=12), expression=np.full(39, 0.1))
    rgb = renderer.render(p)
    yuv = renderer.render_yuv420(p)
    ref = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
    assert yuv.shape == ref.shape == (H * 3 // 2, W) and yuv.dtype == np.uint8
    diff = np.abs(yuv.astype(int) - ref.astype(int))
    assert diff.max() <= 1                       # rounding only
    assert diff.mean() < 0.1


@pytest.mark.parametrize("size", [(320, 240), (324, 242)])
def test_other_sizes_render(face_model, size):
    """Sizes other than 640x480, including one with W % 8 != 0."""
    from realtime_mask.render import AvatarRenderer

    w, h = size
    with AvatarRenderer(face_model, w, h) as r:
        p = face(head=HeadPose(roll_deg=5))
        rgb = r.render(p)
        assert rgb.shape == (h, w, 3)
        yuv = r.render_yuv420(p)
        ref = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
        assert yuv.shape == ref.shape
        assert np.abs(yuv.astype(int) - ref).max() <= 1


def test_bad_sizes_and_identity_are_refused(face_model):
    from realtime_mask.render import AvatarRenderer

    with pytest.raises(ValueError, match="multiple of 4"):
        AvatarRenderer(face_model, 642, 480)
    with pytest.raises(ValueError, match="identity"):
        AvatarRenderer(face_model, identity=np.zeros(7))


def test_non_finite_params_are_refused_and_the_renderer_keeps_working(renderer):
    good = renderer.render(face())
    with pytest.raises(ValueError, match="non-finite"):
        renderer.render(face(left_eye=EyeParams(upper_lid=float("nan"))))
    with pytest.raises(ValueError, match="non-finite"):
        renderer.render_yuv420(face(head=HeadPose(yaw_deg=float("inf"))))
    assert np.array_equal(renderer.render(face()), good)
    # out-of-range eyes are clamped to what an eye can do, not refused
    wild = renderer.render(face(left_eye=EyeParams(yaw_deg=400.0, upper_lid=90.0)))
    assert np.array_equal(wild, renderer.render(face(left_eye=EyeParams(yaw_deg=50.0,
                                                                         upper_lid=3.0))))


def test_renderers_in_parallel_threads_agree(renderer, face_model):
    """Each session thread owns a renderer; the shared mean-avatar geometry is
    read-only, so concurrent renders are identical to a single-thread render."""
    import threading

    from realtime_mask.render import AvatarRenderer

    poses = [face(head=HeadPose(yaw_deg=y), left_eye=EyeParams(upper_lid=u),
                  expression=np.full(39, 0.05 * i))
             for i, (y, u) in enumerate([(-10, 0.2), (5, 0.9), (15, -0.9)])]
    expected = [renderer.render_yuv420(p) for p in poses]
    results: dict[int, list] = {}

    def session(k: int) -> None:
        with AvatarRenderer(face_model, W, H) as r:
            results[k] = [r.render_yuv420(p) for p in poses * 3]

    threads = [threading.Thread(target=session, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(2):
        assert len(results[k]) == 9
        for i, frame in enumerate(results[k]):
            assert np.array_equal(frame, expected[i % 3])


def test_two_renderers_in_one_thread_do_not_mix(renderer, face_model):
    from realtime_mask.render import AvatarRenderer

    p = face(head=HeadPose(yaw_deg=8))
    before = renderer.render_yuv420(p)
    other = AvatarRenderer(face_model, 320, 240)     # creating a context makes it current
    small = other.render_yuv420(p)
    assert np.array_equal(renderer.render_yuv420(p), before)
    assert np.array_equal(other.render_yuv420(p), small)
    other.close()
    assert np.array_equal(renderer.render_yuv420(p), before)
    assert np.array_equal(renderer.render(p), renderer.render(p))


def test_wrong_thread_and_closed_renderer_give_clear_errors(face_model):
    import threading

    from realtime_mask.render import AvatarRenderer

    r = AvatarRenderer(face_model, 64, 48)
    errors = []

    def use():
        try:
            r.render(face())
        except RuntimeError as e:
            errors.append(str(e))

    t = threading.Thread(target=use)
    t.start()
    t.join()
    assert errors and "thread" in errors[0]
    assert r.render(face()).shape == (48, 64, 3)          # still fine in its own thread
    r.close()
    with pytest.raises(RuntimeError, match="closed"):
        r.render(face())


def test_placeholder_is_not_a_face(renderer, face_mesh):
    ph = renderer.render(MaskParams.no_face())
    assert ph.shape == (H, W, 3)
    assert np.mean(np.abs(ph.astype(int) - renderer.render(face()).astype(int))) > 10
    assert track(face_mesh, ph) is None
    assert np.array_equal(ph, renderer.render(MaskParams.no_face(timestamp=5.0)))
    yuv = renderer.render_yuv420(MaskParams.no_face())
    assert yuv.shape == (H * 3 // 2, W)
    assert np.abs(yuv.astype(int) - cv2.cvtColor(ph, cv2.COLOR_RGB2YUV_I420)).max() == 0
    # callers may scribble on what they get back without changing the next frame
    ph[:] = 0
    assert renderer.render(MaskParams.no_face()).any()


# ------------------------------------------------------------------ lid model

def _lid_check(renderer, cases):
    n = len(renderer.weights_for(face()))
    for yaw, pitch, up, lo in cases:
        eye = EyeParams(yaw_deg=yaw, pitch_deg=pitch, upper_lid=up, lower_lid=lo)
        w = renderer.weights_for(face(left_eye=eye, right_eye=eye)).copy()
        assert w.shape == (n,) and (w[w > 0] <= 1.0).all()
        for side in ("L", "R"):
            got_up, got_lo = renderer.lids[side].margin_heights(w, yaw, pitch)
            assert got_up == pytest.approx(up, abs=0.03), (side, yaw, pitch, up, lo)
            assert got_lo == pytest.approx(lo, abs=0.03), (side, yaw, pitch, up, lo)


REACHABLE = [(0, 0, 0.75, 0.95), (0, 0, 0.2, 0.95), (0, 0, -0.3, 0.95), (0, 0, 1.1, 0.95),
             (0, 5, 0.75, 0.95), (0, -3, 0.75, 0.95), (10, 0, 0.5, 0.9), (-10, 0, 0.5, 0.9),
             (0, 0, 0.75, 0.7), (0, 0, 0.75, 1.1)]


# Upper lids as a normal eye carries them looking up (MRD1 held, the lower lid
# lagging the eye), and a marked lid retraction. ICT's lid shapes alone drew
# the upper lid at 0.34 for the first, 0.58 and 0.70 for the third, and 1.21
# for the last.
GAZE_RANGE = [(0, 20, 0.75, 1.25), (0, 25, 0.7, 1.4), (15, 10, 0.75, 0.95), (-15, 10, 0.75, 0.95),
              (0, 0, 1.4, 0.95)]


def test_lid_solve_puts_margins_on_target(renderer):
    _lid_check(renderer, REACHABLE)


def test_lids_reach_a_normal_eye_across_the_gaze_range(renderer, face_model):
    from realtime_mask.render.avatars import avatar_renderer

    _lid_check(renderer, GAZE_RANGE)
    with avatar_renderer(face_model, 1099) as session_avatar:
        _lid_check(session_avatar, GAZE_RANGE)


def test_look_up_only_where_the_lid_shapes_fall_short(renderer, face_model):
    """Lids the lid shapes reach are solved as before, and the renders the eye
    calibration is fitted on never use eyeLookUp."""
    from realtime_mask.render import AvatarRenderer

    look_up = renderer.lids["L"].shape_index["eyeLookUp"]
    for yaw, pitch, up, lo in REACHABLE:
        eye = EyeParams(yaw_deg=yaw, pitch_deg=pitch, upper_lid=up, lower_lid=lo)
        assert renderer.weights_for(face(left_eye=eye, right_eye=eye))[look_up] == 0.0
    looking_up = face(left_eye=EyeParams(pitch_deg=25.0, upper_lid=0.7, lower_lid=1.4))
    assert renderer.weights_for(looking_up)[look_up] > 0.5
    with AvatarRenderer(face_model, W, H, lid_shapes_only=True) as calibration_renderer:
        assert calibration_renderer.weights_for(looking_up)[look_up] == 0.0
        assert calibration_renderer.shown(looking_up).left_eye.upper_lid < 0.3


def test_lid_follows_the_rotated_eyeball(renderer):
    """Looking up with the same MRD1 raises the lid with the eye."""
    side = renderer.lids["L"]
    straight = renderer.weights_for(face()).copy()
    up = renderer.weights_for(face(left_eye=EyeParams(pitch_deg=5.0))).copy()
    wide = side.shape_index["eyeWide"]
    assert up[wide] > straight[wide]
    # and the margin height above the *head's* eye centre rose by the iris shift
    q0, q1 = side.eyeball.iris_centre(0, 0), side.eyeball.iris_centre(0, 5.0)
    rho = side.eyeball.iris_radius
    h0 = side.margin_heights(straight, 0, 0)[0] * rho + q0[1]
    h1 = side.margin_heights(up, 0, 5.0)[0] * rho + q1[1]
    assert h1 - h0 == pytest.approx(q1[1] - q0[1], abs=0.01)


def test_synthetic_identity_keeps_exact_eyes(face_model, face_mesh):
    from realtime_mask.render import Appearance, AvatarRenderer

    coeffs = np.random.default_rng(3).normal(0, 1.0, face_model.identity_deltas.shape[0])
    look = Appearance(skin_rgb=(0.62, 0.45, 0.36), iris_rgb=(0.25, 0.38, 0.45), detail=0.8)
    with AvatarRenderer(face_model, W, H, identity=coeffs, appearance=look) as r:
        _lid_check(r, REACHABLE[:6])
        img = r.render(face())
        pts = track(face_mesh, img)
        assert pts is not None
        turned = track(face_mesh, r.render(face(left_eye=EyeParams(yaw_deg=20.0))))
        assert turned is not None
        assert read_eyes(turned)["image_right"].iris_t - read_eyes(pts)["image_right"].iris_t > 0.08


def test_a_synthetic_patients_gaze_zero_fixates_the_camera(face_model):
    """A patient looking at the screen converges on the camera: at gaze 0 each
    eye's line of sight points at it, seen from above (so a corneal reflex of a
    light there sits on the iris centre horizontally)."""
    from realtime_mask.render import AvatarRenderer
    from realtime_mask.render.renderer import CAMERA_POSITION

    with AvatarRenderer(face_model, 64, 48) as avatar:
        # the avatar's gaze 0 is parallel: the convention the read-out is calibrated in
        assert all(avatar.lids[s].eyeball.fixation_yaw_deg == 0 for s in ("L", "R"))
    with AvatarRenderer(face_model, 64, 48, fixate_camera=True) as r:
        for side in ("L", "R"):
            eb = r.lids[side].eyeball
            to_camera = (CAMERA_POSITION - eb.centre)[[0, 2]]     # seen from above
            sight = eb.gaze_direction(0, 0)[[0, 2]]
            turn = np.degrees(np.arctan2(sight[0], sight[1]) - np.arctan2(to_camera[0], to_camera[1]))
            assert abs(turn) < 0.05
            assert 1.0 < abs(eb.fixation_yaw_deg) < 4.0
        assert np.sign(r.lids["L"].eyeball.fixation_yaw_deg) == -1   # the left eye turns right


def test_the_avatars_reflex_sits_as_on_an_eye_fixating_the_camera(face_model):
    """The avatar's eyes stay parallel at gaze 0, but each corneal reflex sits
    against its iris where it sits on a patient's eye turned in to fixate the
    camera: on the iris centre at gaze 0 (horizontally), and off it as far as
    on that eye."""
    from dataclasses import replace as dc_replace

    from realtime_mask.render import AvatarRenderer
    from realtime_mask.render.appearance import NEUTRAL_APPEARANCE
    from realtime_mask.render.renderer import iris_point

    look = dc_replace(NEUTRAL_APPEARANCE, corneal_reflex=0.9)
    head = HeadPose(0.0, 0.0, 0.0)
    with AvatarRenderer(face_model, W, H, appearance=look, reflex_as_fixating=True) as avatar, \
            AvatarRenderer(face_model, W, H, appearance=look, fixate_camera=True) as patient, \
            AvatarRenderer(face_model, W, H, appearance=look) as parallel:
        assert all(avatar.lids[s].eyeball.fixation_yaw_deg == 0 for s in ("L", "R"))
        for side in ("L", "R"):
            for yaw, pitch in ((0.0, 0.0), (10.0, -5.0), (-15.0, 8.0)):
                eye = EyeParams(yaw, pitch, 0.75, 0.95)
                offsets = [r.reflex_position(side, eye, head)
                           - r.project(iris_point(r.lids[side].eyeball, eye), head)
                           for r in (avatar, patient, parallel)]
                assert np.allclose(offsets[0], offsets[1], atol=1e-6)
                if yaw == 0.0:   # horizontally (the eyes turn in, not down, to the camera)
                    assert abs(offsets[0][0]) < 0.01
                    assert abs(offsets[2][0]) > 0.2     # parallel eyes: the reflex is off centre
