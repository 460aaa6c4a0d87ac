"""Per-eye gaze, lid positions and blink from landmarks, for each eye on its own.

Nothing here averages the two eyes or smooths over time (a 2-6 Hz nystagmus must
survive); the only state is slow per-session calibration (iris radius, open-eye
aperture) and the last reliable gaze, held while a blink hides the iris.

Definitions (all geometric, so the renderer can reproduce them on the avatar):

Head frame. The fitter gives a similarity (s, R, t) mapping ICT model
coordinates (cm; x = the face's own left, y = up, z = out of the face) to the
camera frame of the landmarks (pixels; X = image right, Y = up, Z = towards the
camera). The head's horizontal and vertical axes seen in the image are the
first two columns of s * R[:2, :2].

Eyeball rotation (yaw_deg, pitch_deg). The iris-centre landmark is read
against an eyeball centre that moves with the head, not with the eye:

  centre = head_c + lowpass(corner_c - head_c)

head_c is ICT's eyeball centre (`EyeballGeometry`: centre of the sphere fitted
to the outer eyeball shell without its cornea bulge, the renderer's eyeball
centre) carried into the image by the fitted (s, R, t). corner_c places the same
centre from the eye's own corners: ICT's offset from the corner midpoint on the
mean face, rotated and scaled by (s, R), added to the observed midpoint. The
corners carry the patient's own eye position (an ICT face shape error of a
millimetre is 4-5 degrees of gaze), but MediaPipe drags them along with the
iris: on rendered eyes turned by known angles the corners moved 30-100 % as far
as the iris, so a 2 degree, 4 Hz nystagmus all but vanished from one eye. The
head frame does not follow the iris (the fitter's rigid landmarks keep clear of
the eyes). So the corners are trusted only for the slow part: the low-pass
(time constant CORNER_TAU_S) passes a sustained deviation or a slow drift from
the corners and leaves the fast eye movements to the head-fixed centre. The
low-pass runs in head units and starts, in each session and for a single
photo, from its value on the neutral rendered mean face (`centre_prior`, from
eye_calibration.py): the head frame alone misplaces the eyeballs by 2-3 mm,
mirrored between the eyes (as a fit without perspective would).
Measured with benchmarks/fidelity.py (13 synthetic patients, MaskParams):
median deviation error 8.3 -> 4.9 degrees, nystagmus found in 1 -> 3 of 3
patients, MRD1 error 2.3 -> 1.8 mm, against the corners-only centre.

The iris offset from that centre, divided by s, is placed on the sphere of
radius rho (ICT eyeball centre to the iris-disc centre) in front of the centre,
rotated back into the head frame (v = R^T v_cam) and read as a Fick gimbal,
gaze 0 = the head's +z:
  yaw   = atan2(v.x, v.z)          (+ = towards the patient's left)
  pitch = atan2(v.y, |v.xz|)       (+ = up)
i.e. the eye direction is Ry(yaw) Rx(-pitch) (0, 0, 1), the renderer's
convention. The eye calibration (eye_calibration.py) then corrects MediaPipe's
offsets, gains and cross-talk on a rendered eye.

Vertical drag. When both eyes look up or down, FaceMesh moves its whole upper
face with them: on the rendered mean face with the head still, the fitter's
rigid landmarks follow the irises by about 0.4 of their vertical displacement,
so the head frame, and head_c with it, is carried along (a translation: the
head angle hardly moves), and the eye corners follow by about 0.6-0.7, which
the corner low-pass then takes up. A held up- or downgaze read at 0.36-0.43 of
its size (benchmarks/gaze_loss.py). The eye calibration measures both shares on
renders (`VerticalDrag`: head share h, corner share c) and the read-out takes
them out again. Each open eye's vertical iris offset from where it would look
straight ahead is measured against its usual value (a DRAG_BASELINE_TAU_S
low-pass); the part both eyes share (the smaller of the two when they move the
same way, else none) is low-passed with DRAG_TAU_S, so held gaze is corrected
while a 2-6 Hz nystagmus and the tracker's frame-to-frame noise are left alone
(a shared correction of that noise would put the same jitter into both eyes,
which is what nystagmus looks like). The correction moves both eyes alike, so
it never changes the deviation between them. When one eye moves alone,
FaceMesh moves the other eye's iris part of the way too, and both read
further that way (one eye of the avatar looking up 15 degrees: 8.1 and 4.2
degrees with the correction, 4.0 and 0.2 without). With o that offset:
  head_c -= h / (1 - h) * o        corner_c -= c / (1 - h) * o
(o is what is left of the iris displacement after the head frame took its
share h, hence the 1 / (1 - h)).
"Straight ahead" hangs on the head frame, which moves while the fitter
settles the face's shape over its first frames (fitter.IDENTITY_FRAMES). Once
it has, those frames are measured again with the settled shape and their
median becomes the usual value (`remeasure_drag_baseline`): a median, so a
patient who looks aside late in that second, as the nine-gaze script does,
keeps a level baseline. Taken from the first frame, the transient stayed for
about 10 s: re-tracked avatars with straight eyes read 4-20 degrees up or
down. Until then no correction is made: measured against the first frame
while the shape still moved, it read the moving head frame as a shared
upgaze, and re-tracked avatars with level eyes read up to 20-30 degrees up
in the session's first second (benchmarks/fidelity.py, frames 15-30).
The median needs BASELINE_FRAMES frames with both eyes open; where the first
second has fewer (eyes shut or squeezed), the baseline waits for that many
open frames after it, without a correction meanwhile. Taken from the first
frame that passed as open, a squeezed eye's low iris became the baseline, and
once the eyes opened they read 25-35 degrees up for ten seconds
(pyfeat_WolfgangLanger_Pexels).

Quick head movements. The drag correction is slow (DRAG_TAU_S), and a 2-6 Hz
vertical nystagmus moves the head frame too: on synthetic patients with a
still head and a 3 Hz, 3 degree vertical swing the eyeball centres swung
0.26-0.34 px with the irises' 0.6 px, and one face's right eye read 0.2 of
its swing. The head frame also turns a little with the eyes, so its nose
moved 0.34 px where the eyeball centre moved 0.13 (the mean face). So each
eyeball centre's quick vertical movement is taken from the nose's pixels
(tracking/head_motion.py: optical flow, which does not move with the eyes):
the centre moves by the gap between the nose's pixel position and the fitted
centre, less that gap's low-pass (NOSE_TAU_S). The low-pass is short so
that it lets go of a gaze shift's transient quickly: over 36 read-outs of
synthetic patients without nystagmus (esotropia and the two lid retraction
scripts, three faces each, MaskParams and three re-tracked draws), less the
gap's mean over the last second read a 1.0-1.4 Hz vertical "nystagmus" in 5,
less a 0.5 s low-pass in 3, less a 0.25 s one in none (with the horizontal
scaling tried below; as shipped, in one: the lid-lag script's third face
from MaskParams, 1.5 Hz, 0.9 degrees). Together with the
iris's quick vertical movement from its limbus (tracking/iris_motion.py,
`Landmarks.iris_rise`, which moves the iris for the gaze only: the lids
are read against FaceMesh's points), the quick part of a vertical eye
movement is read from pixels at both ends.
Both are scaled by the inverse of the eye calibration's pitch gain
(EyeCalibration.rise_scale), which corrects FaceMesh's reading, not theirs.
(The same scaling of the iris's quick horizontal shift was tried: it moved
MRD1 by up to 0.7 mm on the 4 Hz horizontal nystagmus, probably because the
lids are read at the iris's column, which then strayed from the limbus's,
where the lid margin in the pixels is read; the horizontal shift is left as
it was.)
Sideways the head frame holds, and in a first version the nose's flow only
added noise there (a 3 Hz vertical nystagmus of three synthetic faces read a
sideways swing of up to 0.9 degrees instead of 0.2), so it is vertical only.
Only while the head holds still (its direction within STILL_DEG over
STILL_FRAMES frames): when it turns, the nose and the eyeballs move apart in
the image. Taken from the nose regardless, the quick gap reached 2 px (90th
percentile) on a synthetic head turning 10 degrees and 12 px on a real
talking head (liveportrait_d3), against 0.6 px on a still synthetic head,
and the avatar's still eyes under a turning head read with a pitch spread
(standard deviation) of 10 degrees instead of 3. Where the nose is not
followed (a session's first frame, a nose at the frame's edge) the centre is
the head frame's too. The pipeline runs the nose's flow only after a frame
in which the head held still (`head_still`): on the real clips in
../shared/data the head held still in 0-14 % of frames, and the flow there
would be wasted work.

Lids (upper_lid, lower_lid), in iris radii. Each landmark of the eye is
expressed relative to the iris centre in the head's image axes (u along the
head's horizontal, v along its vertical, cm). The upper and lower lid margins
(polylines inner corner -> lid landmarks -> outer corner) are interpolated at
the iris column u = 0: upper_lid = v_upper / r, lower_lid = -v_lower / r, where r
is the patient's iris radius in the head frame: the running median of the iris
landmark radius (mean distance of the 4 iris edge points to the centre, / s)
over frames where the eye is well open.

Blink. aperture = upper_lid + lower_lid; A_open is the running median of the
aperture over the session (eyes are open most of the time), but never below
MIN_OPEN_APERTURE, a third of a typical open eye's aperture: a session that starts
with the eyes shut or squeezed (a patient crying or laughing, a blepharospasm)
would otherwise learn the shut eye as its open level, miss its closures, take
its iris radius from shut lids and its vertical drag baseline (below) from a
shut eye's iris, and once the eyes open read them turned 25-35 degrees up
for more than ten seconds (pyfeat_WolfgangLanger_Pexels, whose first 5 s are
squeezed shut):
  blink = clip((BLINK_OPEN * A_open - aperture) / ((BLINK_OPEN - BLINK_CLOSED) * A_open), 0, 1)
While blink > GAZE_HOLD_BLINK the iris landmarks are unreliable, and the last
gaze from a reliable frame is held (blinks last ~0.1-0.3 s). The lids are
drawn closed by the blink's share of the shut eye's floor (`closure_floor`,
eye_calibration.py "Closure").

Measured on liveportrait_d6 (33 s): blink >= 0.8 in 9-11 separate events
(docs/measurements.md: about 12 blinks), < 0.2 in > 85 % of frames.

`eye_opening_measures` is the fit-free 2D version used by the fidelity test.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..params import NEUTRAL_LOWER_LID, NEUTRAL_UPPER_LID, EyeParams
from ..tracking.landmarks import EYE_CONTOURS as CONTOURS
from ..tracking.landmarks import EyeContour, Landmarks
from .assets import PARTS, FaceModel
from .correspondence import Correspondence

BLINK_OPEN = 0.75      # aperture fraction of A_open where blink starts rising from 0
BLINK_CLOSED = 0.25    # aperture fraction of A_open counted as fully closed (MediaPipe
                       # rarely brings the lid landmarks fully together)
GAZE_HOLD_BLINK = 0.5
IRIS_OPEN_MIN = 0.8    # iris radius samples only while aperture > this * A_open
# the least A_open (iris radii), a third of the neutral eye's aperture (module
# docstring); an eye open with MRD1 0 mm, a marked ptosis, has about 0.85
MIN_OPEN_APERTURE = 0.35 * (NEUTRAL_UPPER_LID + NEUTRAL_LOWER_LID)
DEFAULT_IRIS_RADIUS_CM = 0.585
CORNER_TAU_S = 0.5     # low-pass of the corner-placed eyeball centre (module docstring)
DRAG_TAU_S = 0.5       # low-pass of the vertical drag correction (module docstring)
DRAG_BASELINE_TAU_S = 10.0   # the session's usual vertical gaze, which is not corrected
HISTORY = 300          # frames in the running medians (~10 s at 30 fps)
MEDIAN_REFRESH = 10    # samples between recomputations of a running median
NOSE_TAU_S = 0.25      # low-pass of the nose's gap to the eyeball centre (module docstring)
NOSE_WARMUP = 10       # frames of that gap before its quick part is used
STILL_FRAMES = 30      # the head holds still when its direction stays within
STILL_DEG = 1.5        # this over so many frames
WARMUP = 15            # samples before a running median replaces the default
BASELINE_FRAMES = 8    # open-eyed frames the vertical drag baseline is measured over



@dataclass(frozen=True)
class EyeballGeometry:
    """One ICT eyeball in the neutral model (cm): the centre and radius of the
    sphere fitted to the outer eyeball shell (ICT "sclera" range) without its
    cornea bulge, and rho = the distance from that centre to the centre of the
    iris disc (the limbus plane: sqrt(radius^2 - iris radius^2)). Gaze 0 looks
    along the head's +z (straight ahead), not along ICT's diverging cornea axes."""
    centre: np.ndarray
    radius: float
    rho: float


def _fit_sphere(p: np.ndarray) -> tuple[np.ndarray, float]:
    lhs = np.c_[2 * p, np.ones(len(p))]
    sol = np.linalg.lstsq(lhs, (p ** 2).sum(1), rcond=None)[0]
    return sol[:3], float(np.sqrt(sol[3] + sol[:3] @ sol[:3]))


def eyeball_geometry(model: FaceModel, side: str) -> EyeballGeometry:
    """side: "left"/"right" = the face's own side (ICT naming)."""
    a, b = PARTS[f"sclera_{side}"]
    shell = model.neutral[a:b].astype(np.float64)
    centre, radius = _fit_sphere(shell)
    bulge = np.linalg.norm(shell - centre, axis=1) > radius + 0.03
    centre, radius = _fit_sphere(shell[~bulge])
    rho = float(np.sqrt(radius ** 2 - DEFAULT_IRIS_RADIUS_CM ** 2))
    return EyeballGeometry(centre, radius, rho)


def cornea_axis(model: FaceModel, side: str) -> np.ndarray:
    """ICT's modelled cornea axis (unit; the two diverge by ~11 degrees each)."""
    g = eyeball_geometry(model, side)
    a, b = PARTS[f"sclera_{side}"]
    shell = model.neutral[a:b].astype(np.float64) - g.centre
    d = np.linalg.norm(shell, axis=1)
    bulge = d > g.radius + 0.03
    axis = (shell[bulge] / d[bulge, None]).mean(0)
    return axis / np.linalg.norm(axis)


# ------------------------------------------------------------- 2D measures

def _lid_at(u_points: np.ndarray, v_points: np.ndarray, u: float) -> float:
    order = np.argsort(u_points)
    return float(np.interp(u, u_points[order], v_points[order]))


def eye_opening_measures(landmarks: Landmarks) -> dict[str, dict[str, float]]:
    """Iris position within the eye opening, straight from 2D landmarks, per eye
    ("left"/"right" = the patient's own eyes):
      h         0 at the inner corner .. 1 at the outer corner: projection of the
                iris centre on the corner-to-corner line / eye width
      v         0 at the upper lid .. 1 at the lower lid, at the iris column
                (perpendicular to the corner line)
      aperture  lid-to-lid distance at the iris column / eye width
    """
    pts = landmarks.points[:, :2].astype(np.float64)
    out = {}
    for side, c in CONTOURS.items():
        inner, outer, iris = pts[c.inner], pts[c.outer], pts[c.iris[0]]
        width = float(np.linalg.norm(outer - inner))
        e = (outer - inner) / max(width, 1e-9)
        n = np.array([-e[1], e[0]])
        if n[1] < 0:          # n points down the face (image y grows downwards)
            n = -n
        def uv(ids):
            q = np.vstack([inner, pts[list(ids)], outer]) - inner
            return q @ e, q @ n
        iu, iv = (iris - inner) @ e, (iris - inner) @ n
        up_v = _lid_at(*uv(c.upper), iu)
        lo_v = _lid_at(*uv(c.lower), iu)
        gap = lo_v - up_v
        out[side] = {"h": float(iu / max(width, 1e-9)),
                     "v": float((iv - up_v) / gap) if abs(gap) > 1e-6 else 0.5,
                     "aperture": float(gap / max(width, 1e-9))}
    return out


# ------------------------------------------------------------- the eye model

@dataclass
class HeadFrame:
    """The fitted similarity model -> camera frame (module docstring)."""
    scale: float
    rotation: np.ndarray          # (3, 3)
    translation: np.ndarray       # (3,)

    def image_xy(self, point) -> np.ndarray:
        """Camera-frame (x right, y up) image position of a model point (cm)."""
        return (self.scale * (self.rotation @ np.asarray(point, np.float64))
                + self.translation)[:2]


@dataclass(frozen=True)
class VerticalDrag:
    """How far FaceMesh carries the head frame (head_share) and the eye corners
    (corner_share) along with a vertical eye movement, as shares of the iris's
    own displacement (module docstring). Zero: no correction."""
    head_share: float = 0.0
    corner_share: float = 0.0


class _DragState:
    """The session's vertical drag correction: each eye's usual vertical iris
    offset, and the low-passed shared departure from it (cm, head vertical axis)."""
    def __init__(self):
        self.baseline: dict[str, float] = {}
        self.offset = 0.0
        self.last_time: float | None = None
        # the session's first frames, while the fitter still estimates the
        # face's shape: each frame's iris image positions, or None where an eye
        # was shut or covered; None once the baseline was measured again
        self.early: list[dict[str, np.ndarray] | None] | None = []
        # after them, while fewer than BASELINE_FRAMES of them had both eyes
        # open: the open frames' vertical offsets so far, per eye
        self.pending: dict[str, list[float]] | None = None

    def settle(self, offsets: dict[str, list[float]]) -> None:
        """The baseline from these open frames' offsets once there are enough;
        until then they wait in `pending` for more."""
        if len(offsets["left"]) >= BASELINE_FRAMES:
            self.baseline = {side: float(np.median(v)) for side, v in offsets.items()}
            self.pending = None
        else:
            self.pending = offsets


class _RunningMedian:
    def __init__(self, default: float, size: int = HISTORY):
        self.default = default
        self.values: deque[float] = deque(maxlen=size)
        self._cached: float | None = None
        self._since = 0

    def add(self, x: float) -> None:
        self.values.append(x)
        self._since += 1

    @property
    def value(self) -> float:
        if len(self.values) < WARMUP:
            return self.default
        # The median moves slowly: recomputing it every few samples is enough.
        if self._cached is None or self._since >= MEDIAN_REFRESH:
            self._cached = float(np.median(self.values))
            self._since = 0
        return self._cached


class _EyeState:
    def __init__(self, corner_lag: np.ndarray):
        self.iris_radius = _RunningMedian(DEFAULT_IRIS_RADIUS_CM)
        self.aperture = _RunningMedian(NEUTRAL_UPPER_LID + NEUTRAL_LOWER_LID)
        self.last_gaze = (0.0, 0.0)
        self.last_lids = (NEUTRAL_UPPER_LID, NEUTRAL_LOWER_LID)
        self.last_aperture = 0.0
        self.last_open_level = MIN_OPEN_APERTURE     # A_open as the last blink was read against
        # lowpass(corner_c - head_c), cm along the head's x and y axes
        self.corner_lag = corner_lag.copy()
        self.last_time, self.seen = 0.0, False

    @property
    def open_level(self) -> float:
        """A_open: the aperture of this eye when open (module docstring)."""
        return max(self.aperture.value, MIN_OPEN_APERTURE)


class EyeModel:
    """Per-session eye measurement; `reset()` for a new session."""

    def __init__(self, model: FaceModel, correspondence: Correspondence,
                 centre_prior: dict[str, np.ndarray] | None = None,
                 vertical_drag: VerticalDrag = VerticalDrag(),
                 rise_scale: dict[str, float] | None = None):
        # Patient's left eye = ICT "left" (the face's own side), MediaPipe 473.. block.
        self.geometry = {side: eyeball_geometry(model, side) for side in CONTOURS}
        mean = correspondence.points(model.neutral.astype(np.float64))
        self._centre_offset = {
            side: self.geometry[side].centre - 0.5 * (mean[c.inner] + mean[c.outer])
            for side, c in CONTOURS.items()}
        # Where a session's corner correction starts (eye_calibration.py measures
        # it on the rendered mean face; module docstring).
        self.centre_prior = centre_prior or {side: np.zeros(2) for side in CONTOURS}
        self.vertical_drag = vertical_drag
        # what the pixels' quick vertical movements are multiplied by before
        # they enter the read-out: the inverse of the eye calibration's pitch
        # gains (the calibration corrects FaceMesh's reading, not the pixels')
        self.rise_scale = rise_scale or {side: 1.0 for side in CONTOURS}
        self.reset()

    def reset(self) -> None:
        self._state = {side: _EyeState(self.centre_prior[side]) for side in CONTOURS}
        self._drag = _DragState()
        # per eye: the gap's low-passed level, when it was last updated, samples
        self._nose_gap: dict[str, tuple[float, float, int]] = {}
        self._facing = deque(maxlen=STILL_FRAMES)
        self.head_still = False    # in the last frame measured (the pipeline's NoseMotion)

    def closure_floor(self, side: str) -> float:
        """The aperture (iris radii, as read) at which the last frame's blink
        read fully closed: FaceMesh's floor for this eye's shut lids."""
        return BLINK_CLOSED * self._state[side].last_open_level

    def corner_lag(self, side: str) -> np.ndarray:
        """The session's current corner correction (cm, head axes)."""
        return self._state[side].corner_lag.copy()

    def measure(self, landmarks: Landmarks, head: HeadFrame, timestamp: float,
                covered: dict[str, bool] | None = None,
                nose_px: np.ndarray | None = None) -> dict[str, EyeParams]:
        """covered: eyes that something covers (tracking/cover.py). FaceMesh
        draws those eyes anyway; they keep their last seen values and teach the
        session's running levels nothing."""
        # Camera frame, 2D (x right, y up, pixels), converted once for both eyes.
        xy = landmarks.points[:, :2].astype(np.float64) * (1.0, -1.0)
        # head x / y axes as seen in the image (pixels per cm)
        basis = head.scale * head.rotation[:2, :2]
        inv_basis = np.linalg.inv(basis)
        covered = covered or {}
        drag = self._drag_offset(xy, head, inv_basis, covered, timestamp)
        h, c_share = self.vertical_drag.head_share, self.vertical_drag.corner_share
        head_shift = basis[:, 1] * (h / (1.0 - h) * drag)
        corner_shift = basis[:, 1] * (c_share / (1.0 - h) * drag)
        still = self._head_still(head)
        out = {}
        for side, c in CONTOURS.items():
            scale = self.rise_scale[side]
            quick = self._quick_head_gap(side, head, nose_px, still, timestamp) * scale
            out[side] = (self._held(side) if covered.get(side) else
                         self._measure_eye(side, c, xy, head, inv_basis, timestamp,
                                           head_shift - quick, corner_shift - quick,
                                           landmarks.iris_rise.get(side, 0.0) * scale))
        return out

    def _head_still(self, head: HeadFrame) -> bool:
        """Whether the head's direction stayed within STILL_DEG over the last
        STILL_FRAMES frames (module docstring, "Quick head movements")."""
        facing = self._facing
        facing.append(head.rotation[:, 2].copy())
        if len(facing) < NOSE_WARMUP:       # too few frames to tell
            self.head_still = False
            return False
        spread = np.ptp(np.array(facing), axis=0)
        self.head_still = bool(np.degrees(float(spread.max())) <= STILL_DEG)
        return self.head_still

    def _quick_head_gap(self, side: str, head: HeadFrame, nose_px: np.ndarray | None,
                        still: bool, timestamp: float) -> np.ndarray:
        """The quick part of the gap between the nose's pixel position and the
        fitted eyeball centre (image x right, y up; tracking/head_motion.py):
        what moves the centre with the head's pixels instead of the head frame."""
        if nose_px is None:
            return np.zeros(2)
        gap = -float(nose_px[1]) - head.image_xy(self.geometry[side].centre)[1]
        level, last, seen = self._nose_gap.get(side, (gap, timestamp, 0))
        dt = min(max(float(timestamp - last), 0.0), 0.5)
        level += dt / (NOSE_TAU_S + dt) * (gap - level)
        self._nose_gap[side] = (level, timestamp, seen + 1)
        if seen < NOSE_WARMUP or not still:
            return np.zeros(2)
        # vertical only (module docstring): sideways the head frame holds
        return np.array([0.0, gap - level])

    def _drag_offset(self, xy: np.ndarray, head: HeadFrame, inv_basis: np.ndarray,
                     covered: dict[str, bool], timestamp: float) -> float:
        """The low-passed shared vertical iris offset o of both eyes from their
        usual ones (cm, head axis; module docstring)."""
        if self.vertical_drag == VerticalDrag():
            return 0.0
        d = self._drag
        dt = min(max(float(timestamp - d.last_time), 0.0), 0.5) if d.last_time is not None else 0.0
        d.last_time = timestamp
        # both eyes open in the last frame: a blinking or drooping lid pulls
        # FaceMesh's iris, and a covered eye is drawn by its guess
        both_open = not any(covered.get(side)
                            or not st.last_aperture > IRIS_OPEN_MIN * st.open_level
                            for side, st in self._state.items())
        irises = {side: xy[c.iris[0]] for side, c in CONTOURS.items()} if both_open else None
        if d.early is not None:
            # While the fitter still learns the face's shape, the head frame,
            # and "straight ahead" with it, moves with the shape: no correction
            # until the baseline is measured again with the settled shape.
            d.early.append(irises)
            return 0.0
        if irises is None:
            return d.offset                     # hold the correction
        if d.pending is not None:
            # too few open frames yet for the usual vertical gaze: collect more
            for side in CONTOURS:
                d.pending[side].append(self._vertical_offset(side, irises[side], head, inv_basis))
            d.settle(d.pending)
            return d.offset
        moved = {}
        for side in CONTOURS:
            o = self._vertical_offset(side, irises[side], head, inv_basis)
            base = d.baseline.setdefault(side, o)
            d.baseline[side] = base + dt / (DRAG_BASELINE_TAU_S + dt) * (o - base)
            moved[side] = o - d.baseline[side]
        # the part both eyes share: FaceMesh drags the face most with the eyes
        # moving together (with one eye alone it moves the other iris part of
        # the way, and that part is corrected too; module docstring)
        a, b = moved["left"], moved["right"]
        shared = float(np.sign(a) * min(abs(a), abs(b))) if a * b > 0 else 0.0
        d.offset += dt / (DRAG_TAU_S + dt) * (shared - d.offset)
        return d.offset

    def _vertical_offset(self, side: str, iris_xy: np.ndarray, head: HeadFrame,
                         inv_basis: np.ndarray) -> float:
        """The iris's vertical offset from where it would look straight ahead (cm, head axis)."""
        g = self.geometry[side]
        straight = head.image_xy(g.centre + (0.0, 0.0, g.rho))
        return float((inv_basis @ (iris_xy - straight))[1])

    def remeasure_drag_baseline(self, heads: list[HeadFrame]) -> None:
        """heads: the session's first frames' head frames, fitted again with the
        face shape the fitter has settled on. The drag baseline is measured
        again over those frames (the median of their offsets), so the shape's
        transient is not taken for the patient's usual vertical gaze (module
        docstring). Once per session."""
        d = self._drag
        early, d.early = d.early or [], None
        offsets = {side: [] for side in CONTOURS}
        for head, irises in zip(heads, early):
            if irises is None:
                continue
            inv_basis = np.linalg.inv(head.scale * head.rotation[:2, :2])
            for side in CONTOURS:
                offsets[side].append(self._vertical_offset(side, irises[side], head, inv_basis))
        d.settle(offsets)

    def _held(self, side: str) -> EyeParams:
        st = self._state[side]
        return EyeParams(*st.last_gaze, *st.last_lids, blink=0.0, covered=True)

    def _measure_eye(self, side: str, c: EyeContour, xy: np.ndarray, head: HeadFrame,
                     inv_basis: np.ndarray, timestamp: float, head_shift: np.ndarray,
                     corner_shift: np.ndarray, iris_rise: float = 0.0) -> EyeParams:
        st = self._state[side]
        iris = xy[c.iris[0]]
        r_obs = float(np.mean(np.linalg.norm(xy[list(c.iris[1:])] - iris, axis=1))) / head.scale

        def head_uv(ids):
            return (xy[list(ids)] - iris) @ inv_basis.T        # (n, 2) cm, head axes

        up = head_uv([c.inner, *c.upper, c.outer])
        lo = head_uv([c.inner, *c.lower, c.outer])
        v_up = _lid_at(up[:, 0], up[:, 1], 0.0)
        v_lo = _lid_at(lo[:, 0], lo[:, 1], 0.0)

        r = st.iris_radius.value
        upper_lid, lower_lid = v_up / r, -v_lo / r
        aperture = upper_lid + lower_lid
        st.last_aperture = aperture
        a_open = st.last_open_level = st.open_level
        st.aperture.add(aperture)
        if aperture > IRIS_OPEN_MIN * a_open:
            st.iris_radius.add(r_obs)
        blink = min(max(float((BLINK_OPEN * a_open - aperture)
                              / ((BLINK_OPEN - BLINK_CLOSED) * a_open)), 0.0), 1.0)

        if blink > GAZE_HOLD_BLINK:
            yaw, pitch = st.last_gaze
        else:
            centre = self._eyeball_centre(side, c, xy, head, inv_basis, timestamp,
                                          head_shift, corner_shift)
            yaw, pitch = self._gaze(side, iris - (0.0, iris_rise), centre, head)
            st.last_gaze = (yaw, pitch)
        if blink < GAZE_HOLD_BLINK:
            st.last_lids = (float(upper_lid), float(lower_lid))
        return EyeParams(yaw_deg=yaw, pitch_deg=pitch, upper_lid=float(upper_lid),
                         lower_lid=float(lower_lid), blink=blink)

    def _eyeball_centre(self, side: str, c: EyeContour, xy: np.ndarray, head: HeadFrame,
                        inv_basis: np.ndarray, timestamp: float, head_shift: np.ndarray,
                        corner_shift: np.ndarray) -> np.ndarray:
        """Image position (x right, y up) of the eyeball centre (module docstring),
        with FaceMesh's vertical drag of the head frame and corners taken out."""
        st = self._state[side]
        head_c = head.image_xy(self.geometry[side].centre) - head_shift
        mid = 0.5 * (xy[c.inner] + xy[c.outer]) - corner_shift
        corner_c = mid + head.scale * (head.rotation[:2] @ self._centre_offset[side])
        # A session (or a single photo) starts from the prior: a first frame's
        # corners would already carry that frame's gaze.
        dt = min(max(float(timestamp - st.last_time), 0.0), 0.5) if st.seen else 0.0
        st.corner_lag += dt / (CORNER_TAU_S + dt) * (inv_basis @ (corner_c - head_c)
                                                     - st.corner_lag)
        st.last_time, st.seen = timestamp, True
        return head_c + head.scale * (head.rotation[:2, :2] @ st.corner_lag)

    def _gaze(self, side: str, iris_xy: np.ndarray, centre: np.ndarray,
              head: HeadFrame) -> tuple[float, float]:
        g = self.geometry[side]
        d = (iris_xy - centre) / head.scale
        d2 = float(d @ d)
        rho2 = g.rho * g.rho
        if d2 > rho2:                 # outside the eyeball's silhouette: clamp to its rim
            d *= np.sqrt(rho2 / d2) * 0.999
            d2 = float(d @ d)
        v_cam = np.array([d[0], d[1], np.sqrt(rho2 - d2)])
        return _angles(head.rotation.T @ v_cam)


def _angles(v: np.ndarray) -> tuple[float, float]:
    yaw = np.degrees(np.arctan2(v[0], v[2]))
    pitch = np.degrees(np.arctan2(v[1], np.hypot(v[0], v[2])))
    return float(yaw), float(pitch)
