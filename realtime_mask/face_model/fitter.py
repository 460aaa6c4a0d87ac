"""Per-frame fit of the ICT face model to MediaPipe landmarks -> MaskParams.

Per frame (all matrices precomputed in __init__, so a frame costs a few small
mat-vecs):
  1. Head pose: weighted similarity (Umeyama) from the current model shape to
     MediaPipe's 3D landmarks on a rigid subset. The subset is derived, not
     hand-listed: landmarks that no ICT expression moves by more than
     RIGID_MAX_MOTION_CM, that are not on the face contour, not around the eyes
     (RIGID_EYE_CLEARANCE_CM) and whose correspondence was stable across views
     (forehead, nose bridge and tip, upper cheeks...).
     The head angles in MaskParams (drawn on the avatar, read by the doctor
     as head posture) take their level from the mean face alone, fitted the
     same way (`_posture`). The pose above fits the person's learnt shape,
     and the eye read-out is calibrated in that frame; but the shape is
     learnt in the frame it is fitted in, so it can take in a turn of the
     face that the pose then keeps. The mean face drawn with its chin up 8
     degrees read 17.1 degrees after 45 frames that way, 10.8 as reported
     now. The reported angles are the pose's plus the gap to the mean face's
     fit, low-passed (POSTURE_TAU_S): the level is the mean face's, while the
     quick wobble stays the pose's, which the gaze read-out shares
     (clinical/nystagmus.py takes an eye oscillation that moves with the head
     for a read-out artefact; with the mean face's angles as they are, two
     still synthetic patients got a 1.2-1.5 Hz "nystagmus"). Over
     benchmarks/fidelity.py --faces 3 the head pitch's median bias fell from
     +5.1 to +1.9 degrees (re-tracked avatars: +10.9 to +2.1), the eye
     read-outs unchanged.
  2. Expression: the landmarks are brought into the model frame and the
     residual from the (identity-adjusted) mean shape is solved as a weighted
     ridge least squares over the expression shapes, clipped to [0, 1] and
     refined by a few projected-gradient steps. Eye shapes (blink, squint,
     wide) are fitted as nuisance terms so lid motion is not explained by brow
     or cheek shapes; they are dropped from the output (the eyes are carried by
     EyeParams).
  3. Identity: ICT's 100 identity modes, ridge-regularised, solved jointly with
     the expression weights under a much stronger expression prior
     (IDENTITY_PHASE_EXPRESSION_RIDGE: the static shape is the identity's to
     explain, not a held smile's), averaged over the first IDENTITY_FRAMES frames
     with a face, then updated slowly (IDENTITY_RATE) from what the expression
     fit leaves unexplained. What the identity modes cannot express (MediaPipe
     on a real face deviates from MediaPipe on the avatar in ways ICT's modes do
     not span, e.g. mouth-corner height, which otherwise reads as a permanent
     smile) is kept as a free per-landmark session offset, estimated the same
     way. Identity and offset absorb the patient's own face shape and never
     leave this object (MaskParams has no field for them). The price: an
     expression held through the first second of a session is taken as the
     patient's neutral until the slow update forgets it.
  4. Eyes: eyes.EyeModel, per eye, from the fitted head frame.

Camera frame: MediaPipe pixels with Y and Z flipped (X image right, Y up, Z
towards the camera), so the ICT frame (x = the face's own left, y up, z out of
the face) maps to it by a proper rotation R.

Head angles: R = Ry(yaw) @ Rx(-pitch) @ Rz(-roll) (yaw applied last), with Ry,
Rx, Rz the right-handed rotations about the camera axes. So +yaw turns the nose
towards image right (the patient's left), +pitch lifts the chin, +roll tilts the
head clockwise as the viewer sees it (params.py conventions). The renderer
builds the same R from the same three angles.

Face-contour landmarks slide along the silhouette: weight 0 in the pose, low in
the expression/identity fit.

MediaPipe on the ICT avatar deviates from the ICT surface (correspondence.py,
step 4). The pose and the person's shape use the median deviation over the
rendered views; the expression residual also adds how the deviation changes
from the frontal view to the fitted head angle (brows and far-side contour
shift as the head turns). Measured on the mean face rendered at yaw +-20: the
largest spurious expression weight fell from 0.84-0.89 to ~0.5.
"""

from __future__ import annotations

import math

import numpy as np

from ..params import EXPRESSION_NAMES, EyeParams, HeadPose, MaskParams
from ..tracking.landmarks import Landmarks
from ..tracking.eye_image import EyeImage
from .assets import FaceModel
from .correspondence import (N_FACE_LANDMARKS, Correspondence, ViewOffset, load_correspondence,
                             similarity,
                             to_camera_frame)
from .eye_calibration import EyeCalibration, load_eye_calibration
from .eyes import EyeModel, HeadFrame
from .lid_anchor import LidAnchor
from .reflex_anchor import ReflexAnchor

NUISANCE_SHAPES = ("eyeBlink_L", "eyeBlink_R", "eyeSquint_L", "eyeSquint_R",
                   "eyeWide_L", "eyeWide_R")
RIGID_COUNT = 60         # landmarks in the rigid subset
RIGID_MAX_SPREAD_CM = 0.25
# MediaPipe moves its eye-region landmarks with the iris and the lids (on
# rendered eyes looking up 10 degrees the fitted head pitch fell 0.9-2 degrees
# when they were in the rigid set; 0.1-1.1 degrees with this clearance from the
# eyeball centres). The eye read-out needs a head frame that the eyes do not move.
RIGID_EYE_CLEARANCE_CM = 2.8
CONTOUR_WEIGHT = 0.1
Z_WEIGHT = 0.5            # MediaPipe depth is a learned guess: trust it less than x, y
EXPRESSION_RIDGE = 0.3    # prior on the expression weights (cm^2 scale of the residual)
IDENTITY_RIDGE = 5.0
IDENTITY_PHASE_EXPRESSION_RIDGE = 30.0
IDENTITY_FRAMES = 30
IDENTITY_RATE = 0.002     # per frame after the first frames: ~17 s time constant at 30 fps
IDENTITY_UPDATE_EVERY = 10  # after the first frames, update every n frames (rate * n)
PG_STEPS = 4
POSTURE_TAU_S = 0.5       # the reported head angles' level follows the mean face's fit this slowly
RESIDUAL_SCALE_CM = 0.5   # rms residual at which confidence reaches 0


def _mv(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """m @ v without BLAS: OpenBLAS threads mat-vecs of this size, and on a busy
    2-core machine those threads wait on each other (a 0.7 ms fit became 4 ms)."""
    return np.einsum("ij,j->i", m, v)


def _vm(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """v @ m without BLAS (see _mv)."""
    return np.einsum("i,ij->j", v, m)


def rotation_from_angles(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """R = Ry(yaw) Rx(-pitch) Rz(-roll), model -> camera (module docstring)."""
    a, b, c = np.radians([yaw_deg, -pitch_deg, -roll_deg])
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return ry @ rx @ rz


def angles_from_rotation(r: np.ndarray) -> HeadPose:
    """Inverse of rotation_from_angles (|pitch| < 90 degrees)."""
    b = np.arcsin(min(max(-float(r[1, 2]), -1.0), 1.0))   # (np.clip: 3 µs a scalar)
    a = np.arctan2(r[0, 2], r[2, 2])
    c = np.arctan2(r[1, 0], r[1, 1])
    return HeadPose(yaw_deg=float(np.degrees(a)), pitch_deg=float(-np.degrees(b)),
                    roll_deg=float(-np.degrees(c)))


class FaceFitter:
    """Landmarks -> MaskParams for one session (create one per stream)."""

    def __init__(self, model: FaceModel, correspondence: Correspondence | None = None,
                 eye_calibration: EyeCalibration | None = None):
        corr = correspondence or load_correspondence(model)
        self.correspondence = corr
        self.eye_calibration = eye_calibration or load_eye_calibration(model)
        self.eyes = EyeModel(model, corr, self.eye_calibration.centre_prior,
                             self.eye_calibration.vertical_drag,
                             self.eye_calibration.rise_scale())
        self.reflex_anchor = ReflexAnchor()
        self.lid_anchor = LidAnchor()
        names = list(EXPRESSION_NAMES) + list(NUISANCE_SHAPES)
        idx = [model.expression_index(n) for n in names]
        self._n_out = len(EXPRESSION_NAMES)

        # MediaPipe's own landmark model deviates systematically from ICT's
        # surface (depth above all, and with the head angle); the offset measured
        # on the rendered mean face makes the neutral avatar fit with zero
        # expression. (Index the landmark triangles first: converting whole
        # meshes is slow.)
        mean = corr.points(model.neutral).astype(np.float64)                  # (L, 3)
        self._view_offset = ViewOffset(corr)
        # The pose uses the median offset over the views: stable, and not fed
        # back from the angle it is estimating.
        self._pose_offset = corr.offset.astype(np.float64).reshape(-1)
        expr = corr.points(model.expression_deltas[idx]).astype(np.float64)   # (K, L, 3)
        ident = corr.points(model.identity_deltas).astype(np.float64)         # (I, L, 3)
        # Flat, contiguous (.., 3L) matrices: a frame is a handful of mat-vecs.
        self._ict_mean = np.ascontiguousarray(mean.reshape(-1))
        self._expr = np.ascontiguousarray(expr.reshape(len(idx), -1))
        self._ident = np.ascontiguousarray(ident.reshape(len(ident), -1))

        # Per-coordinate weights for the expression/identity fit.
        lw = np.where(corr.contour, CONTOUR_WEIGHT, 1.0)
        lw = lw / (1.0 + (corr.spread / RIGID_MAX_SPREAD_CM) ** 2)
        cw = (lw[:, None] * np.array([1.0, 1.0, Z_WEIGHT])).reshape(-1)
        a = self._expr.T                                                      # (3L, K)
        self._h = a.T @ (a * cw[:, None]) + EXPRESSION_RIDGE * np.eye(len(idx))
        self._h_inv = np.linalg.inv(self._h)
        self._atw = (a * cw[:, None]).T                                       # (K, 3L)
        self._step = 1.0 / np.linalg.eigvalsh(self._h)[-1]
        b = np.concatenate([self._ident.T, a], axis=1)                        # (3L, I+K)
        ridge = np.r_[np.full(len(ident), IDENTITY_RIDGE),
                      np.full(len(idx), IDENTITY_PHASE_EXPRESSION_RIDGE)]
        self._joint_solve = np.linalg.solve(
            b.T @ (b * cw[:, None]) + np.diag(ridge), (b * cw[:, None]).T)    # (I+K, 3L)
        self._joint_basis = np.ascontiguousarray(b)

        # Rigid subset for the pose.
        motion = np.linalg.norm(model.expression_deltas[idx][:, corr.tri],
                                axis=-1).max(axis=(0, 2)).astype(np.float64)    # (L,)
        candidates = ~corr.contour & (corr.spread < RIGID_MAX_SPREAD_CM)
        for eyeball in self.eyes.geometry.values():
            candidates &= np.linalg.norm(mean - eyeball.centre, axis=1) > RIGID_EYE_CLEARANCE_CM
        motion[~candidates] = np.inf
        self.rigid = np.sort(np.argsort(motion)[:RIGID_COUNT])
        self.rigid = self.rigid[np.isfinite(motion[self.rigid])]
        if len(self.rigid) < 12:
            raise RuntimeError(f"only {len(self.rigid)} rigid landmarks: correspondence broken")
        self._rigid_w = 1.0 / (1.0 + (corr.spread[self.rigid] / 0.1) ** 2)
        self._mean_rigid = (mean + corr.offset.astype(np.float64))[self.rigid]
        self._expr_rigid = np.ascontiguousarray(expr[:, self.rigid].reshape(len(idx), -1))
        # The per-frame mat-vecs run in float32: several times faster than
        # float64 here (and no multi-threaded BLAS path fighting for the cores).
        for name in ("_ict_mean", "_expr", "_ident", "_atw", "_joint_solve", "_joint_basis",
                     "_expr_rigid", "_pose_offset"):
            setattr(self, name, np.ascontiguousarray(getattr(self, name), np.float32))
        self.reset()

    def reset(self) -> None:
        """Forget everything about the session: identity, expression, eye calibration."""
        self.identity = np.zeros(self._ident.shape[0], np.float32)
        self._identity_frames = 0
        self._frames = 0
        self._first_frames: list[tuple[np.ndarray, np.ndarray]] = []
        self._session_offset = np.zeros_like(self._ict_mean)
        self._person = np.zeros_like(self._ict_mean)      # identity + session offset
        self._set_view(0.0, 0.0)
        self._update_rigid()
        self._weights = np.zeros(self._h.shape[0])
        self._posture_gap: tuple[float, float, float] | None = None
        self._posture_time = 0.0
        self.eyes.reset()
        self.reflex_anchor.reset()
        self.lid_anchor.reset()
        self.last_head: HeadFrame | None = None

    def fit(self, landmarks: Landmarks | None, timestamp: float,
            covered: dict[str, bool] | None = None,
            eye_images: dict[str, EyeImage] | None = None,
            nose_px: np.ndarray | None = None) -> MaskParams:
        """covered: eyes that something covers in this frame (EyeModel.measure);
        eye_images: what each eye's pixels showed in this frame, when read: the
        corneal reflex (ReflexAnchor) and the upper lid margin (LidAnchor)."""
        if landmarks is None:
            return MaskParams.no_face(timestamp)
        p = to_camera_frame(landmarks.points[:N_FACE_LANDMARKS])
        # A broken landmark set (NaN, collapsed to a point) fails closed, like a
        # lost face, and leaves the session state untouched.
        if not np.isfinite(landmarks.points).all() or np.ptp(p[:, :2], axis=0).min() < 1.0:
            return MaskParams.no_face(timestamp)
        pose_weights = self._weights
        s, r, t = self._pose(p[self.rigid], pose_weights)
        if not (np.isfinite(s) and s > 0):
            return MaskParams.no_face(timestamp)

        pose = angles_from_rotation(r)
        self._set_view(pose.yaw_deg, pose.pitch_deg)
        posture = self._posture(p, pose, timestamp)
        y = ((p - t) @ r / s).reshape(-1).astype(np.float32)  # = R^T (p - t) / s, per row
        resid = y - self._shape
        b = _mv(self._atw, resid).astype(np.float64)
        w = np.clip(self._h_inv @ b, 0.0, 1.0)
        for _ in range(PG_STEPS):
            w = np.clip(w - self._step * (self._h @ w - b), 0.0, 1.0)
        self._weights = w
        expr_part = _vm(w.astype(np.float32), self._expr)
        err = resid - expr_part
        rms = float(np.sqrt(np.mean(err * err, dtype=np.float64)))
        self._frames += 1
        if self._frames <= IDENTITY_FRAMES:
            self._first_frames.append((p[self.rigid], pose_weights))
        if self._frames <= IDENTITY_FRAMES or self._frames % IDENTITY_UPDATE_EVERY == 0:
            self._update_shape(y, expr_part)

        head = HeadFrame(scale=s, rotation=r, translation=t)
        self.last_head = head
        measured = self.eyes.measure(landmarks, head, timestamp, covered, nose_px)
        if self._frames == IDENTITY_FRAMES:
            # the face's shape has settled: the first frames' head frames again
            # with it, for the eyes' drag baseline (eyes.py)
            self.eyes.remeasure_drag_baseline(
                [HeadFrame(*self._pose(*frame)) for frame in self._first_frames])
            self._first_frames = []
        eyes = {side: self.eye_calibration.apply_closing(side, eye, self.eyes.closure_floor(side))
                for side, eye in measured.items()}
        images = eye_images or {}
        # lids first: the reflex anchor reads its vertical part only while the
        # lids stand clear of the limbus, which the anchored lids tell better.
        # Its frontal gate reads the reported head angles, nearer the truth
        # than the pose's (re-tracked avatar 1138: 20-26 degrees for 1-7).
        eyes = self.lid_anchor.apply(eyes, {side: image.upper_lid for side, image in images.items()},
                                     posture.yaw_deg, posture.pitch_deg)
        eyes, anchored = self.reflex_anchor.apply(
            eyes, {side: image.reflex for side, image in images.items()})
        conf = float(landmarks.confidence) * min(max(1.0 - rms / RESIDUAL_SCALE_CM, 0.0), 1.0)
        return MaskParams(
            timestamp=float(timestamp), face_present=True, confidence=conf,
            head=posture, expression=w[:self._n_out].astype(np.float32),
            left_eye=eyes["left"], right_eye=eyes["right"], reflex_anchored=anchored)

    def _pose(self, rigid_points: np.ndarray, weights: np.ndarray):
        """s, R, t of the current face shape with these expression weights onto
        the rigid landmarks (camera frame)."""
        shape = (self._shape_rigid
                 + _vm(weights.astype(np.float32), self._expr_rigid)).reshape(-1, 3)
        return similarity(shape, rigid_points, self._rigid_w)

    def _posture(self, p: np.ndarray, pose: HeadPose, timestamp: float) -> HeadPose:
        """The head angles reported and drawn: the pose's, plus the low-passed
        gap to the mean face's rigid landmarks fitted onto this frame's
        (module docstring, step 1)."""
        _, r, _ = similarity(self._mean_rigid, p[self.rigid], self._rigid_w)
        mean_face = angles_from_rotation(r)
        gap = (mean_face.yaw_deg - pose.yaw_deg, mean_face.pitch_deg - pose.pitch_deg,
               mean_face.roll_deg - pose.roll_deg)
        if self._posture_gap is None:
            self._posture_gap = gap
        else:
            dt = max(float(timestamp) - self._posture_time, 0.0)
            a = 1.0 - math.exp(-dt / POSTURE_TAU_S)
            self._posture_gap = tuple(g + a * (new - g) for g, new in zip(self._posture_gap, gap))
        self._posture_time = float(timestamp)
        yaw, pitch, roll = self._posture_gap
        return HeadPose(pose.yaw_deg + yaw, pose.pitch_deg + pitch, pose.roll_deg + roll)

    def _update_shape(self, y: np.ndarray, expr_part: np.ndarray) -> None:
        """Identity + session offset: a running mean over the first frames (joint
        solve, strong expression prior), then slow updates from what this frame's
        expression fit left unexplained."""
        self._identity_frames += 1
        first = self._identity_frames <= IDENTITY_FRAMES
        rate = 1.0 / self._identity_frames if first else IDENTITY_RATE * IDENTITY_UPDATE_EVERY
        # against the view-independent base: a head-angle-dependent term here
        # would leak into the person's shape and from there into the pose
        base = self._ict_mean + self._pose_offset
        target = (y - base) if first else (y - base - expr_part)
        est = _mv(self._joint_solve, target)
        n_id = len(self.identity)
        if not first:
            est[n_id:] = 0.0
        free = target - _mv(self._joint_basis, est)
        self.identity += rate * (est[:n_id] - self.identity)
        self._session_offset += rate * (free - self._session_offset)
        self._person = _vm(self.identity, self._ident) + self._session_offset
        self._shape = self._mean + self._person
        self._update_rigid()

    def _set_view(self, yaw: float, pitch: float) -> None:
        """Model shape for this head angle: ICT mean + MediaPipe's median offset
        + how MediaPipe's offset changes from the frontal view to this head angle
        (`_mean`), plus the person's identity and session offset (`_shape`)."""
        self._mean = (self._ict_mean + self._pose_offset
                      + self._view_offset.change(yaw, pitch))
        self._shape = self._mean + self._person

    def _update_rigid(self) -> None:
        shape = self._ict_mean + self._pose_offset + self._person
        self._shape_rigid = shape.reshape(-1, 3)[self.rigid].reshape(-1)


__all__ = ["FaceFitter", "EyeParams", "rotation_from_angles", "angles_from_rotation",
           "similarity"]
