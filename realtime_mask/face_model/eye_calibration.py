"""Calibrate the eye read-out against eyes rendered at known rotations and lids.

MediaPipe's iris and lid landmarks are biased: on a rendered eye turned 15° the
raw read-out says about 12°, a lowered lid reads higher than it is, and pitch is
compressed most. Because the avatar renderer places the eyeball exactly where
MaskParams says, it is a ground-truth generator for the read-out: render
random per-eye configurations (with small head turns), each held for
HOLD frames as in a video (the first frame after a jump reads part-way), track
and fit them as a video session, and regress the truth on the raw read-out, per
eye:

    [yaw, pitch, upper_lid, lower_lid]_true ~= M_side @ [yaw, pitch, upper, lower, 1]_raw

with each gaze axis from itself alone and lids from lids and pitch (see INPUTS).

The lids are drawn with ICT's lid shapes alone (`lid_shapes_only`: the
avatar lifts an upper lid further with eyeLookUp where eyeWide stops), and
the truth recorded is the lid asked for: 17 % of the sampled upper lids and
46 % of the lower ones are drawn elsewhere (benchmarks/lid_reach.py).
Recording the drawn lid, or drawing the lid asked for, made the real clips'
MRD1 read 0.4 mm lower (median), into false ptosis (docs/measurements.md,
session 24), so the calibration stays as it is until the read-out's lid level
holds on real faces.

Every render is also read mirrored, as a second session whose eyes swap
sides, and both readings go into each eye's fit, so the calibration treats the
two eyes alike. FaceMesh reads the two eyes of the rendered mean face
differently (the right eye about 1-2 degrees lower), although ICT's mean mesh
is mirror-symmetric (every face vertex within 0.06 mm of a mirrored one) and
the difference stays with the key light moved to the middle: the asymmetry is
the read-out's, and a calibration that learnt it from plain renders put a right
hypertropia into real clips of people with straight eyes: median +3.3 degrees
over 11 clips, 3 of them reported as hypertropia; +1.1 and none with the
mirrored readings (benchmarks/fidelity.py: median deviation error 4.6 -> 3.8
degrees).

The eye model's corner correction after those neutral frames (the mean of the
two sessions) is kept too: a session starts from it (eyes.py, `centre_prior`).

Before the calibration sessions, the build measures FaceMesh's vertical drag
(eyes.py, `VerticalDrag`): both eyes look up and down together on the still
mean face, each position held DRAG_HOLD frames, and the shares by which the
fitted head frame (its eyeball centres) and the eye corners follow the iris
are the slopes of their vertical positions against the iris's. The
calibration sessions themselves run without that correction: it acts on gaze
held for longer than eyes.DRAG_TAU_S, and the 4-frame samples below are the
tracker's frame-by-frame reading.

Closure. FaceMesh never brings a shut eye's lid landmarks together: a real
eye shut reads an aperture of up to a quarter of its open level (eyes.py,
BLINK_CLOSED: blink 1), and drawn as read, a blink showed a slit of sclera,
often in one eye only (liveportrait_d6: the left eye's blinks drawn 0.13-0.52
iris radii open, the right eye's shut), which is how an incomplete closure,
a sign of facial palsy, looks. So the upper lid is lowered by the blink's
share of that floor, as calibrated (`apply_closing`): an eye read fully
closed is drawn shut, an open eye (blink 0) is drawn as read, and in between
the drawn aperture still grows with the read one, so a lid that stops short
of the floor is still drawn with a gap, narrower than read. Lowering it only
past blink 0.5, so that narrowed eyes kept their read aperture, left the
aperture error as it was, and FaceMesh found fewer of the blinks in the
re-tracked session avatars (28 of 33 against 30; benchmarks/eye_fidelity.py,
docs/measurements.md, session 40).

The 4x5 matrices are applied to every fitted frame (two tiny mat-vecs, four
when the eyes blink). The same correction makes the round trip patient ->
MaskParams -> avatar -> read-out consistent, which is what lets the doctor's
picture reproduce the patient's eye positions. The matrices are derived from
ICT and MediaPipe, so they live in the cache folder, never in the repository.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..params import EyeParams, HeadPose, MaskParams
from .assets import FaceModel, cache_dir, cached_arrays
from .correspondence import in_own_thread
from .eyes import CONTOURS, VerticalDrag

# Bump when the renders it learns from change (8: the expression blend's
# rounding, at most 2 grey levels in a few pixels, moved entries by <= 0.011).
CALIBRATION_VERSION = 8
SIDES = ("left", "right")
SAMPLES = 180
SEED = 1234
HOLD = 4                # frames each sampled pose is held (the last one is read)
# Sampled ranges: the gaze and lid span seen in consultations (closed lids are
# excluded: the read-out holds the gaze through a blink by design).
YAW, PITCH = 25.0, 15.0
UPPER, LOWER = (-0.1, 1.2), (0.75, 1.15)
# Which raw read-outs (yaw 0, pitch 1, upper 2, lower 3) each calibrated value
# may depend on. Gaze depends on gaze only: a gaze held through a blink stays
# held after calibration, and a lid change never moves the reported gaze. And
# each gaze axis on itself only: with the other axis as an input, the two eyes'
# pitch weights in yaw came out -0.07 and +0.14, so every shared up- or
# downgaze moved the horizontal deviation by 0.21 degrees per degree.
INPUTS = ((0,), (1,), (1, 2, 3), (1, 2, 3))
DRAG_PITCH = 15.0       # degrees up and down for the drag measurement
DRAG_HOLD = 20          # frames each drag position is held (the last DRAG_READ are read)
DRAG_READ = 6


@dataclass(frozen=True)
class EyeCalibration:
    matrices: dict[str, np.ndarray]   # side -> (4, 5)
    # side -> (2,): eyes.EyeModel's corner correction on the neutral mean face
    # (cm, head axes), where each session starts
    centre_prior: dict[str, np.ndarray]
    # FaceMesh's vertical drag of the head frame and corners (eyes.py)
    vertical_drag: VerticalDrag = VerticalDrag()
    # lower the lids of an eye read closed (`apply_closing`); off for the raw
    # read-out the calibration learns from
    closes_blinks: bool = True

    def rise_scale(self) -> dict[str, float]:
        """Per eye, 1 / the pitch gain: what a quick vertical movement measured
        at its true size in the pixels (tracking/iris_motion.py,
        tracking/head_motion.py) is scaled by before it enters the read-out,
        so that `apply` gives it back at its size."""
        return {side: float(1.0 / m[1, 1]) for side, m in self.matrices.items()}

    def apply(self, side: str, eye: EyeParams) -> EyeParams:
        m = self.matrices[side]
        raw = np.array([eye.yaw_deg, eye.pitch_deg, eye.upper_lid, eye.lower_lid, 1.0])
        yaw, pitch, upper, lower = m @ raw
        return EyeParams(float(yaw), float(pitch), float(upper), float(lower), eye.blink,
                         eye.covered)

    def apply_closing(self, side: str, eye: EyeParams, closure_floor: float) -> EyeParams:
        """`apply`, with the upper lid lowered by the blink's share of the
        closure floor (module docstring, "Closure"). closure_floor: the raw
        aperture at which this eye's blink reads fully closed."""
        out = self.apply(side, eye)
        if not self.closes_blinks or eye.blink <= 0.0:
            return out
        at_floor = self.apply(side, replace(eye, upper_lid=closure_floor - eye.lower_lid))
        floor = at_floor.upper_lid + at_floor.lower_lid
        if floor <= 0.0:
            return out
        return replace(out, upper_lid=out.upper_lid - eye.blink * floor)


IDENTITY = EyeCalibration({s: np.hstack([np.eye(4), np.zeros((4, 1))]) for s in SIDES},
                          {s: np.zeros(2) for s in SIDES}, closes_blinks=False)


def calibration_cache_file(model: FaceModel):
    import mediapipe

    return cache_dir() / (f"eye-calibration-v{CALIBRATION_VERSION}-{model.cache_file.stem}"
                          f"-mp{mediapipe.__version__}.npz")


def load_eye_calibration(model: FaceModel, rebuild: bool = False) -> EyeCalibration:
    def build() -> dict[str, np.ndarray]:
        cal = in_own_thread(build_eye_calibration, model)
        drag = cal.vertical_drag
        return {**cal.matrices, **{f"{s}_centre_prior": v for s, v in cal.centre_prior.items()},
                "vertical_drag": np.array([drag.head_share, drag.corner_share])}

    z = cached_arrays(calibration_cache_file(model), build, rebuild)
    return EyeCalibration({s: z[s] for s in SIDES}, {s: z[f"{s}_centre_prior"] for s in SIDES},
                          VerticalDrag(*(float(v) for v in z["vertical_drag"])))


def _neutral(t: float) -> MaskParams:
    return MaskParams(timestamp=t, face_present=True, confidence=1.0)


def _mirrored(params: MaskParams) -> MaskParams:
    """What the mirror image of a render shows: the eyes swap sides, and yaw
    and roll change sign (+yaw is towards the patient's left either way)."""
    def eye(e: EyeParams) -> EyeParams:
        return EyeParams(-e.yaw_deg, e.pitch_deg, e.upper_lid, e.lower_lid, e.blink)

    h = params.head
    return MaskParams(timestamp=params.timestamp, face_present=True, confidence=1.0,
                      head=HeadPose(-h.yaw_deg, h.pitch_deg, -h.roll_deg),
                      left_eye=eye(params.right_eye), right_eye=eye(params.left_eye))


def measure_vertical_drag(model: FaceModel, renderer) -> VerticalDrag:
    """FaceMesh's vertical drag on the still mean face (module docstring)."""
    from ..tracking import MediaPipeTracker
    from .fitter import FaceFitter

    fitter = FaceFitter(model, eye_calibration=IDENTITY)
    pitches = [0.0] * DRAG_HOLD + [p for _ in range(2) for p in (DRAG_PITCH, 0.0, -DRAG_PITCH, 0.0)
                                   for _ in range(DRAG_HOLD)]
    rows: dict[str, list] = {s: [] for s in SIDES}   # (pitch, iris y, head_c y, corners y)
    with MediaPipeTracker(static_image_mode=False) as tracker:
        for i, pitch in enumerate(pitches):
            eye = EyeParams(pitch_deg=pitch)
            lm = tracker.track(renderer.render(MaskParams(
                timestamp=i / 30, face_present=True, confidence=1.0, left_eye=eye, right_eye=eye)))
            if lm is None:
                raise RuntimeError("eye calibration: FaceMesh lost the mean face")
            fitter.fit(lm, i / 30)
            if i >= DRAG_HOLD and i % DRAG_HOLD >= DRAG_HOLD - DRAG_READ:
                head = fitter.last_head
                xy = lm.points[:, :2] * (1.0, -1.0)
                for side, c in CONTOURS.items():
                    centre = head.image_xy(fitter.eyes.geometry[side].centre)
                    rows[side].append((pitch, xy[c.iris[0], 1], centre[1],
                                       0.5 * (xy[c.inner, 1] + xy[c.outer, 1])))
    shares = []
    for side in SIDES:
        a = np.array(rows[side], np.float64)
        slopes = [np.polyfit(a[:, 0], a[:, k], 1)[0] for k in (1, 2, 3)]
        shares.append([slopes[1] / slopes[0], slopes[2] / slopes[0]])
    head_share, corner_share = np.mean(shares, axis=0)
    if not (0.0 <= head_share < 0.8 and 0.0 <= corner_share < 1.5):
        raise RuntimeError(f"eye calibration: implausible vertical drag {head_share:.2f} / "
                           f"{corner_share:.2f}")
    return VerticalDrag(float(head_share), float(corner_share))


def build_eye_calibration(model: FaceModel) -> EyeCalibration:
    from ..render import AvatarRenderer
    from ..tracking import MediaPipeTracker
    from .fitter import FaceFitter

    rng = np.random.default_rng(SEED)
    renderer = AvatarRenderer(model, 640, 480, lid_shapes_only=True)
    drag = measure_vertical_drag(model, renderer)
    views = ("plain", "mirrored")
    trackers = {v: MediaPipeTracker(static_image_mode=False) for v in views}
    fitters = {v: FaceFitter(model, eye_calibration=IDENTITY) for v in views}
    truth: dict[str, list] = {s: [] for s in SIDES}
    raw: dict[str, list] = {s: [] for s in SIDES}
    t = 0.0

    def read(params: MaskParams) -> list[tuple[MaskParams, MaskParams]]:
        """(truth, read-out) of one render in each view FaceMesh tracked."""
        nonlocal t
        t += 1 / 30
        params.timestamp = t
        rgb = renderer.render(params)
        out = []
        for view, image, true in (("plain", rgb, params),
                                  ("mirrored", np.ascontiguousarray(rgb[:, ::-1]),
                                   _mirrored(params))):
            lm = trackers[view].track(image)
            got = fitters[view].fit(lm, t) if lm is not None else None
            if got is not None and got.face_present:
                out.append((true, got))
        return out

    try:
        for _ in range(60):          # the sessions learn the neutral face first
            read(_neutral(0))
        centre_prior = {s: np.mean([fitters[v].eyes.corner_lag(s) for v in views], axis=0)
                        for s in SIDES}
        for _ in range(SAMPLES):
            eyes = {s: EyeParams(rng.uniform(-YAW, YAW), rng.uniform(-PITCH, PITCH),
                                 rng.uniform(*UPPER), rng.uniform(*LOWER)) for s in SIDES}
            head = HeadPose(rng.uniform(-10, 10), rng.uniform(-8, 8), rng.uniform(-5, 5))
            for _ in range(HOLD):
                got = read(MaskParams(face_present=True, confidence=1.0, head=head,
                                      left_eye=eyes["left"], right_eye=eyes["right"]))
            for true, read_out in got:
                for s in SIDES:
                    e, g = getattr(true, f"{s}_eye"), getattr(read_out, f"{s}_eye")
                    truth[s].append([e.yaw_deg, e.pitch_deg, e.upper_lid, e.lower_lid])
                    raw[s].append([g.yaw_deg, g.pitch_deg, g.upper_lid, g.lower_lid, 1.0])
            for _ in range(HOLD):    # keep the sessions' open-eye statistics neutral
                read(_neutral(0))
    finally:
        for tracker in trackers.values():
            tracker.close()
        renderer.close()
    matrices = {}
    for s in SIDES:
        x, y = np.array(raw[s]), np.array(truth[s])
        if len(x) < SAMPLES:
            raise RuntimeError(f"eye calibration: only {len(x)} of {2 * SAMPLES} renders tracked")
        m = np.zeros((4, 5))
        for row, inputs in enumerate(INPUTS):
            cols = list(inputs) + [4]
            m[row, cols] = np.linalg.lstsq(x[:, cols], y[:, row], rcond=None)[0]
        matrices[s] = m
    return EyeCalibration(matrices, centre_prior, drag)
