"""AvatarRenderer: MaskParams -> frame, with ModernGL on a headless EGL context.

The avatar is the ICT mean face (or a synthetic identity for test data), posed
only from MaskParams: expression weights, head rotation about a neck pivot,
per-eye gaze and per-eye lids. Frames are deterministic: the same params give
the same bytes.

render_yuv420 reads the RGBA frame back and converts it with
cv2.COLOR_RGBA2YUV_I420 (BT.601 limited range): on llvmpipe that is ~4x cheaper
than a conversion pass on the "GPU", whose texel fetches run on the same CPU.

A GL context belongs to the thread that created it: create and use one
AvatarRenderer per thread (another thread gets a clear error).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..face_model.assets import PARTS, FaceModel
from ..params import EXPRESSION_NAMES, EyeParams, HeadPose, MaskParams
from .appearance import NEUTRAL_APPEARANCE, Appearance
from .eye_model import (MARGIN_SAMPLES, SHORTFALL, SIDES, Eyeball, EyeLids, build_eye_lids,
                        fit_sphere, lids_shut, rot_x, rot_y, rot_z)
from .gl_flush import gl_flush
from .mesh import UPPER_RIM_RGB, AvatarMesh, EyeMesh, build_avatar_mesh, build_eye_mesh
from .placeholder import placeholder_rgb
from .shaders import load_shader

# Camera: a webcam-like view at fixed scale, the head centred. The face
# (brows to chin) fills ~60% of the frame height, where FaceMesh tracks well.
FOV_Y_DEG = 24.0
LOOK_AT = np.array([0.0, 0.5, 0.0])        # cm, ICT head space: between eyes and mouth
CAMERA_DISTANCE = 75.0                     # cm from LOOK_AT, along +z
NECK_PIVOT = np.array([0.0, -6.0, -2.0])   # cm: head rotations turn about the upper neck
NEAR, FAR = 20.0, 120.0
# Mouth socket drawn when any of these can open the lips.
MOUTH_OPENERS = ("jaw", "mouthFunnel", "mouthPucker", "mouthLowerDown", "mouthUpperUp",
                 "mouthStretch", "mouthRoll", "mouthSmile", "mouthShrug")
MOUTH_OPEN_EPS = 0.01
MAX_EYE_DEG = 50.0          # eye rotation beyond this is clamped (the human range is ~45)
MAX_LID = 3.0               # iris radii
COVER_HALF_CM = (1.7, 1.2)  # half-axes of the patch over a covered eye
COVER_RGBA = (52, 55, 62, 255)   # dark, unlike skin, eye or background
# A session avatar's own face shape fades in between these distances (cm) from
# the eyeball centres: eyes, lids and orbit stay the mean face's.
EYE_REGION_CM = (1.8, 3.2)
CAMERA_POSITION = LOOK_AT + np.array([0.0, 0.0, CAMERA_DISTANCE])   # head space, neutral pose
CORNEA_RADIUS_CM = 0.78     # anterior corneal curvature of an adult eye
# llvmpipe bins a draw's triangles on the calling thread and rasterises them on
# its worker threads only once the frame is flushed. The face's triangles are
# stored bottom to top (mesh.py), so drawn in bands, each flushed, the workers
# raster one band while this thread blends, uploads and bins the next: the same
# pixels, and the render stage 11-16 % shorter on two cores (docs/measurements.md,
# session 38).
SURFACE_BANDS = 4
# A shut eye shows its lashes as a dark line along the closure: drawn as a
# ribbon this many iris radii wide on each side of the shut upper lid's margin
# (~1.3 mm in all), brought LASH_LIFT_CM towards the camera, the margin a cubic
# in x. Without it the closure was a faint broken line, and FaceMesh read some
# session avatars' shut eyes at 0.14-0.26 of the eye's width in a video, as
# open as a narrowed eye (docs/measurements.md, session 41).
LASH_HALF_WIDTH_RADII = 0.12
LASH_LIFT_CM = 0.4
LASH_CURVE_DEGREE = 3
# A band's vertex rows start at a multiple of this (192 floats): BLAS's saxpy
# then meets the same SIMD blocks (up to 64 floats) as in one call over all rows
# and adds the same bits, whatever kernel the CPU gets (tests/test_renderer.py).
BLEND_ALIGN_ROWS = 32


def _perspective(fov_y_deg: float, aspect: float, near: float, far: float) -> np.ndarray:
    f = 1.0 / np.tan(np.radians(fov_y_deg) / 2)
    m = np.zeros((4, 4))
    m[0, 0] = f / aspect
    m[1, 1] = -f          # y flipped: GL row 0 is the image's top row, no flip on readback
    m[2, 2] = (far + near) / (near - far)
    m[2, 3] = 2 * far * near / (near - far)
    m[3, 2] = -1.0
    return m


def _translate(t: np.ndarray) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = t
    return m


def _gl(m: np.ndarray) -> bytes:
    """Column-major float32 bytes for a GLSL mat4."""
    return np.ascontiguousarray(m.T, np.float32).tobytes()


def _clamped(eye: EyeParams) -> EyeParams:
    return replace(eye, yaw_deg=float(np.clip(eye.yaw_deg, -MAX_EYE_DEG, MAX_EYE_DEG)),
                   pitch_deg=float(np.clip(eye.pitch_deg, -MAX_EYE_DEG, MAX_EYE_DEG)),
                   upper_lid=float(np.clip(eye.upper_lid, -MAX_LID, MAX_LID)),
                   lower_lid=float(np.clip(eye.lower_lid, -MAX_LID, MAX_LID)))


def head_matrix(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Head rotation about the neck pivot, MaskParams sign conventions:
    + yaw turns the face towards +x (image right), + pitch lifts the chin,
    + roll tilts the top of the head towards image right."""
    r4 = np.eye(4)
    r4[:3, :3] = rot_y(yaw_deg) @ rot_x(-pitch_deg) @ rot_z(-roll_deg)
    return _translate(NECK_PIVOT) @ r4 @ _translate(-NECK_PIVOT)


def _fixation_yaw(centre: np.ndarray) -> float:
    """How far an eye at `centre` turns in to fixate the camera (degrees)."""
    d = CAMERA_POSITION - centre
    return float(np.degrees(np.arctan2(d[0], d[2])))


def iris_point(eyeball: Eyeball, eye: EyeParams) -> np.ndarray:
    """Head-space centre of the painted iris for the eye's gaze."""
    return eyeball.centre + eyeball.painted_limbus_depth * eyeball.gaze_direction(
        eye.yaw_deg, eye.pitch_deg)


def _fixating(eyeball: Eyeball) -> Eyeball:
    """The eyeball with gaze 0 turned in to fixate the camera."""
    return replace(eyeball, fixation_yaw_deg=_fixation_yaw(eyeball.centre))


@dataclass(frozen=True)
class _Geometry:
    lids: dict[str, EyeLids]
    mesh: AvatarMesh
    eyes: EyeMesh


# The live mask renders the mean avatar in every session: its geometry (~1 s
# to build) is built once per process and shared read-only between renderers.
_SHARED: dict[tuple, _Geometry] = {}


def _eye_region_weight(model: FaceModel) -> np.ndarray:
    """Per-vertex 0..1: 0 on the eyeballs, lids and orbit of the mean face, rising
    smoothly to 1 beyond them. Scales an identity offset so a session avatar's
    eyes keep the mean face's geometry (which the eye read-out is calibrated on)."""
    d = np.full(len(model.neutral), np.inf)
    for part in ("sclera_left", "sclera_right"):
        a, b = PARTS[part]
        centre, _ = fit_sphere(model.neutral[a:b].astype(np.float64))
        d = np.minimum(d, np.linalg.norm(model.neutral - centre, axis=1))
    t = np.clip((d - EYE_REGION_CM[0]) / (EYE_REGION_CM[1] - EYE_REGION_CM[0]), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _avatar_geometry(model: FaceModel, identity: np.ndarray | None,
                     appearance: Appearance, keep_eye_region: bool = False) -> _Geometry:
    key = (str(model.cache_file), appearance)
    if identity is None and key in _SHARED:
        return _SHARED[key]
    pos = model.neutral.astype(np.float64)
    if identity is not None:
        coeffs = np.asarray(identity, np.float64).reshape(-1)
        if coeffs.shape != (model.identity_deltas.shape[0],):
            raise ValueError(f"identity must have {model.identity_deltas.shape[0]} "
                             f"coefficients, got {coeffs.shape[0]}")
        offset = np.tensordot(coeffs, model.identity_deltas.astype(np.float32), axes=1)
        if keep_eye_region:
            offset = offset * _eye_region_weight(model)[:, None]
        pos = pos + offset
    pos = pos.astype(np.float32)
    face_tri = model.tri_v[model.triangles_of("face")]
    lids = build_eye_lids(pos, face_tri, model.expression_deltas, model.expression_names)
    eyeballs = {s: lids[s].eyeball for s in SIDES}
    mesh = build_avatar_mesh(model, pos, appearance,
                             [(lids[s].upper_rim, lids[s].lower_rim) for s in SIDES], eyeballs)
    for a in (mesh.base, mesh.colors, mesh.deltas):
        a.setflags(write=False)
    geometry = _Geometry(lids, mesh, build_eye_mesh(model, pos, eyeballs))
    if identity is None:
        _SHARED[key] = geometry
    return geometry


def _bands(surface_index: np.ndarray, n_rows: int) -> list[tuple[int, int, slice]]:
    """SURFACE_BANDS ranges of the index buffer (first, count), each with the
    vertex rows to blend before it is drawn: those it uses that no earlier band
    did, their end rounded up to a multiple of BLEND_ALIGN_ROWS."""
    n_tri = len(surface_index) // 3
    cuts = [n_tri * i // SURFACE_BANDS * 3 for i in range(SURFACE_BANDS + 1)]
    ends = np.maximum.accumulate([int(surface_index[a:b].max()) + 1
                                  for a, b in zip(cuts[:-1], cuts[1:])])
    ends = np.minimum(-(-ends // BLEND_ALIGN_ROWS) * BLEND_ALIGN_ROWS, n_rows)
    ends[-1] = n_rows            # the last band blends the rest (the mouth's rows too)
    starts = np.r_[0, ends[:-1]]
    return [(a, b - a, slice(int(r0), int(r1)))
            for a, b, r0, r1 in zip(cuts[:-1], cuts[1:], starts, ends)]


def _camera_in_head(pose: np.ndarray) -> np.ndarray:
    """The camera's position in the avatar's neutral head space under a head matrix."""
    return (np.linalg.inv(pose) @ np.r_[CAMERA_POSITION, 1.0])[:3]


def _margin_rows(lids: dict[str, EyeLids], mesh: AvatarMesh
                 ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per eye, the drawn mesh's rows of its upper and lower margin vertices."""
    row_of = np.full(int(mesh.vertex_ids.max()) + 1, -1)
    row_of[mesh.vertex_ids] = np.arange(len(mesh.vertex_ids))
    rows = {s: (row_of[lids[s].upper.verts], row_of[lids[s].lower.verts]) for s in SIDES}
    if any((r < 0).any() for pair in rows.values() for r in pair):
        raise ValueError("a lid margin vertex is not drawn")
    return rows


class AvatarRenderer:
    """Render MaskParams to RGB (H,W,3) or I420 (H*3//2,W) uint8 frames."""

    def __init__(self, model: FaceModel, width: int = 640, height: int = 480,
                 identity: np.ndarray | None = None,
                 appearance: Appearance | None = None, keep_eye_region: bool = False,
                 lid_wide_limit: float = 1.0, fixate_camera: bool = False,
                 reflex_as_fixating: bool = False, clip_eyes_to_lids: bool = False,
                 lid_shapes_only: bool = False) -> None:
        """lid_wide_limit: the most eyeWide weight the lid solve may use. 1.0 for
        the avatar; synthetic patients extrapolate further, as lid retraction
        lifts the lid beyond a wide-eyed look.
        lid_shapes_only: the lids as ICT's lid shapes draw them, with no
        eyeLookUp where eyeWide stops and no lash line on a shut eye (the
        renders the eye calibration and the avatar pool are built from;
        eye_calibration.py says why; the pool's faces were chosen on shut eyes
        drawn without the line).
        fixate_camera: gaze 0 converges on the camera, as a patient looking at
        the screen does (synthetic patients); the avatar's gaze 0 is parallel,
        the convention the eye read-out is calibrated in.
        reflex_as_fixating: with the eyes drawn parallel at gaze 0, place each
        corneal reflex against its iris as it sits on an eye turned in to fixate
        the camera (the avatar: the Hirschberg sign of a patient looking at the
        screen, without turning the drawn eyes in, which changed how FaceMesh
        reads the lids of the session faces against the mean face's).
        clip_eyes_to_lids: draw each eyeball only between its lid margins as
        the frame's mesh places them (synthetic patients: on faces whose eyes
        sit further forward than ICT's lid shapes allow for, a lowered lid
        passes behind the cornea, which then shows through it). The avatar's
        eye region is the mean face's, where this does not happen."""
        import moderngl

        if width < 16 or height < 16 or width % 4 or height % 2:
            raise ValueError("frame width must be a multiple of 4 and height even, both "
                             f">= 16, got {width}x{height}")
        self.width, self.height = int(width), int(height)
        self.appearance = appearance or NEUTRAL_APPEARANCE
        geometry = _avatar_geometry(model, identity, self.appearance, keep_eye_region)
        self.lids, self.mesh, eyes = geometry.lids, geometry.mesh, geometry.eyes
        if lid_wide_limit != 1.0 or lid_shapes_only:   # a copy: the shared geometry stays
            self.lids = {s: replace(v, wide_limit=float(lid_wide_limit),
                                    lift_beyond_wide=not lid_shapes_only)
                         for s, v in self.lids.items()}
        if fixate_camera:
            self.lids = {s: replace(v, eyeball=_fixating(v.eyeball)) for s, v in self.lids.items()}
        self._reflex_eyeballs = {s: _fixating(v.eyeball) if reflex_as_fixating else v.eyeball
                                 for s, v in self.lids.items()}
        self._eye_ranges = eyes.ranges
        # per eye, the uniforms that never change (the eyes share one program)
        self._eye_constants = {
            side: (tuple(eb.centre), np.ascontiguousarray(eb.align.T, np.float32).tobytes(),
                   eb.iris_radius)
            for side, eb in ((s, self.lids[s].eyeball) for s in SIDES)}

        # MaskParams expression order -> ICT expression index
        self._expr_map = np.array([model.expression_index(n) for n in EXPRESSION_NAMES])
        self._n_expr = len(model.expression_names)
        self._mouth_params = np.array(
            [i for i, n in enumerate(EXPRESSION_NAMES) if n.startswith(MOUTH_OPENERS)])

        # per-frame scratch, allocated once
        self._weights = np.zeros(self._n_expr, np.float64)
        self._last_weights = np.full(self._n_expr, np.nan)
        self._blended = np.empty_like(self.mesh.base)
        self._rgba = np.empty((height, width, 4), np.uint8)

        self.ctx = moderngl.create_standalone_context(backend="egl")
        self._thread = threading.get_ident()
        ctx = self.ctx
        # the neutral avatar compiles without the procedural-detail code
        variant = ("DETAIL",) if self.appearance.detail > 0 else ()
        self._reflex = self.appearance.corneal_reflex > 0
        self._prog_face = ctx.program(vertex_shader=load_shader("avatar.vert", variant),
                                      fragment_shader=load_shader("avatar.frag"))
        margin_rows = _margin_rows(self.lids, self.mesh)
        self._margin_rows = margin_rows if clip_eyes_to_lids else None
        self._seam_rows = {side: margin_rows[side][0] for side in SIDES}
        self._lash_line = not lid_shapes_only
        eye_variant = variant + (("REFLEX",) if self._reflex else ()) + (
            (f"LID_CLIP {MARGIN_SAMPLES}",) if clip_eyes_to_lids else ())
        self._prog_eye = ctx.program(vertex_shader=load_shader("eye.vert"),
                                     fragment_shader=load_shader("eye.frag", eye_variant))

        self._vbo_face = ctx.buffer(self.mesh.base.tobytes(), dynamic=True)
        self._vbo_color = ctx.buffer(self.mesh.colors.tobytes())
        self._ibo_surface = ctx.buffer(self.mesh.surface_index.tobytes())
        self._surface_bands = _bands(self.mesh.surface_index, len(self.mesh.base))
        self._ibo_mouth = ctx.buffer(self.mesh.mouth_index.tobytes())
        content = [(self._vbo_face, "3f 3f", "in_pos", "in_normal"),
                   (self._vbo_color, "3f", "in_color")]
        self._vao_surface = ctx.vertex_array(self._prog_face, content, self._ibo_surface)
        self._vao_mouth = ctx.vertex_array(self._prog_face, content, self._ibo_mouth)
        # the lash line of a shut eye: a strip along its upper margin, rewritten per use
        self._vbo_lash = ctx.buffer(reserve=2 * MARGIN_SAMPLES * 6 * 4, dynamic=True)
        self._vbo_lash_color = ctx.buffer(
            np.tile(np.array(UPPER_RIM_RGB, np.float32), (2 * MARGIN_SAMPLES, 1)).tobytes())
        self._vao_lash = ctx.vertex_array(
            self._prog_face, [(self._vbo_lash, "3f 3f", "in_pos", "in_normal"),
                              (self._vbo_lash_color, "3f", "in_color")])
        self._vbo_eye = ctx.buffer(eyes.vertices.tobytes())
        self._ibo_eye = ctx.buffer(eyes.index.tobytes())
        self._vao_eye = ctx.vertex_array(self._prog_eye,
                                         [(self._vbo_eye, "3f", "in_pos")],
                                         self._ibo_eye)

        w, h = self.width, self.height
        self._color = ctx.texture((w, h), 4)
        self._depth = ctx.depth_renderbuffer((w, h))
        self._fbo = ctx.framebuffer([self._color], self._depth)

        view = _translate(-(LOOK_AT + np.array([0.0, 0.0, CAMERA_DISTANCE])))
        self._view_proj = _perspective(FOV_Y_DEG, w / h, NEAR, FAR) @ view
        self._prog_face["u_view_proj"].write(_gl(self._view_proj))
        self._prog_eye["u_view_proj"].write(_gl(self._view_proj))
        if variant:
            self._prog_face["u_detail"].value = float(self.appearance.detail)
            self._prog_eye["u_detail"].value = float(self.appearance.detail)
        if self._reflex:
            self._prog_eye["u_reflex"].value = float(self.appearance.corneal_reflex)
        self._prog_eye["u_iris_color"].value = tuple(self.appearance.iris_rgb)
        self._prog_eye["u_sclera_color"].value = tuple(self.appearance.sclera_rgb)
        self._clear = tuple(self.appearance.background_rgb)
        # The projection flips y (top row first in memory), which turns ICT's
        # counter-clockwise front faces clockwise on screen.
        ctx.front_face = "cw"
        ctx.cull_face = "back"

        self._placeholder = placeholder_rgb(w, h, self.appearance)
        self._placeholder_yuv = cv2.cvtColor(self._placeholder, cv2.COLOR_RGB2YUV_I420)
        self._placeholder.setflags(write=False)
        self._placeholder_yuv.setflags(write=False)

    # ------------------------------------------------------------ pose

    @staticmethod
    def _checked(params: MaskParams) -> MaskParams:
        """Refuse non-finite values with one clear error (the renderer stays
        usable); clamp eye values to what an eye can do, so the undrawn back
        of the eyeball never turns into view."""
        values = [params.head.yaw_deg, params.head.pitch_deg, params.head.roll_deg]
        for eye in (params.left_eye, params.right_eye):
            values += [eye.yaw_deg, eye.pitch_deg, eye.upper_lid, eye.lower_lid]
        if not (np.isfinite(values).all() and np.isfinite(params.expression).all()):
            raise ValueError(f"MaskParams with non-finite values cannot be rendered: "
                             f"{params.to_json()}")
        for eye in (params.left_eye, params.right_eye):
            if (abs(eye.yaw_deg) > MAX_EYE_DEG or abs(eye.pitch_deg) > MAX_EYE_DEG
                    or abs(eye.upper_lid) > MAX_LID or abs(eye.lower_lid) > MAX_LID):
                return replace(params, left_eye=_clamped(params.left_eye),
                               right_eye=_clamped(params.right_eye))
        return params

    def weights_for(self, params: MaskParams) -> np.ndarray:
        """All ICT expression weights for a frame: the params' expressions plus
        the solved lid shapes (eye-look shapes stay zero: gaze rotates the eyeball)."""
        return self._solve_weights(params).copy()

    def shown(self, params: MaskParams) -> MaskParams:
        """The params as this face draws them: each open eye's lids where the
        solved lid shapes put them. A face shape can fall short of a lid target
        (eyeLookUp at full weight, or eyeWide at its limit with
        lid_shapes_only, lifts an upper lid only so far; a lower lid drops only
        so far looking down), so test data takes its truth from here. Shut
        lids are kept as asked: the renderer draws no eyeball behind them."""
        params = self._checked(params)
        w = self._solve_weights(params).copy()
        eyes = {}
        for side, name in (("L", "left_eye"), ("R", "right_eye")):
            eye = getattr(params, name)
            if not lids_shut(eye.upper_lid, eye.lower_lid):
                upper, lower = self.lids[side].margin_heights(w, eye.yaw_deg, eye.pitch_deg)
                # only where the face falls short: values it reaches stay as
                # given, so their frames render bit for bit the same
                if max(abs(upper - eye.upper_lid), abs(lower - eye.lower_lid)) > SHORTFALL:
                    eye = replace(eye, upper_lid=float(upper), lower_lid=float(lower))
            eyes[name] = eye
        return replace(params, **eyes)

    def _solve_weights(self, params: MaskParams) -> np.ndarray:
        w = self._weights
        w[:] = 0.0
        w[self._expr_map] = np.clip(np.nan_to_num(params.expression), 0.0, 1.0)
        lid_w = {}
        for side, eye in (("L", params.left_eye), ("R", params.right_eye)):
            lid_w.update(self.lids[side].solve(w, eye.yaw_deg, eye.pitch_deg,
                                               eye.upper_lid, eye.lower_lid))
        for k, v in lid_w.items():
            w[k] = v
        return w

    def _pose(self, params: MaskParams) -> None:
        if self.ctx is None:
            raise RuntimeError("AvatarRenderer is closed")
        if threading.get_ident() != self._thread:
            raise RuntimeError("AvatarRenderer used from another thread than the one that "
                               "created it (its GL context belongs to that thread)")
        # GL calls go to the thread's current context, which is the last one
        # created or entered: make ours current (a cheap no-op when it is).
        self.ctx.__enter__()
        params = self._checked(params)
        w = self._solve_weights(params)
        # blend and upload only when the shape changed (a held pose costs nothing)
        changed = not np.array_equal(w, self._last_weights)
        head = head_matrix(params.head.yaw_deg, params.head.pitch_deg, params.head.roll_deg)
        mvp = self._view_proj @ head
        self._prog_face["u_head"].write(_gl(head))
        self._prog_eye["u_head"].write(_gl(head))
        mouth_open = bool(len(self._mouth_params)
                          and params.expression[self._mouth_params].max() > MOUTH_OPEN_EPS)

        ctx = self.ctx
        self._fbo.use()
        ctx.enable(ctx.DEPTH_TEST | ctx.CULL_FACE)
        ctx.clear(*self._clear, 1.0, depth=1.0)
        for first, count, rows in self._surface_bands:
            if changed:
                self.mesh.blend(w, self._blended, rows)
                self._vbo_face.write(self._blended[rows],
                                     offset=rows.start * self._blended.strides[0])
            self._vao_surface.render(first=first, vertices=count)
            gl_flush()
        if changed:
            self._last_weights[:] = w
        if mouth_open:
            self._vao_mouth.render()
        shut = []
        for side, eye in (("L", params.left_eye), ("R", params.right_eye)):
            if lids_shut(eye.upper_lid, eye.lower_lid):
                # Shut lids hide the eyeball. On faces whose eyes sit further
                # forward than ICT's blink shape allows for (some synthetic
                # patients), the cornea would otherwise poke through the lids.
                shut.append(side)
                continue
            eb = self.lids[side].eyeball
            centre, align, iris_radius = self._eye_constants[side]
            self._prog_eye["u_eye"].write(_gl(eb.model_matrix(eye.yaw_deg, eye.pitch_deg)))
            self._prog_eye["u_centre"].value = centre
            self._prog_eye["u_align"].write(align)
            self._prog_eye["u_iris_radius"].value = iris_radius
            if self._reflex:
                self._prog_eye["u_reflex_px"].value = tuple(self._reflex_pixels(side, eye, head, mvp))
            if self._margin_rows is not None:
                for name, rows in zip(("u_upper", "u_lower"), self._margin_rows[side]):
                    pixels = self._pixels(self._blended[rows, :3].astype(np.float64), mvp)
                    self._prog_eye[name].write(pixels.astype(np.float32).tobytes())
            first, count = self._eye_ranges[side]
            self._vao_eye.render(first=first, vertices=count)
        if shut and self._lash_line:
            ctx.disable(ctx.CULL_FACE)           # the strip's winding follows the margin
            camera = _camera_in_head(head)
            for side in shut:
                self._draw_lash_line(side, camera)

    def _draw_lash_line(self, side: str, camera: np.ndarray) -> None:
        """The lashes of a shut eye along its closure (LASH_HALF_WIDTH_RADII).

        The closed upper margin lies behind the lid skin that meets over it, so
        the line is moved towards the camera along each point's line of sight:
        drawn where the seam is seen, in front of the lids, and still behind
        the nose when the head turns. Lit as facing the front of the face (the
        margin vertices' own normals turn into the eye socket)."""
        seam = self._blended[self._seam_rows[side], :3].astype(np.float64)
        # a smooth curve through the margin's columns, which step by a pixel
        x = seam[:, 0]
        for axis in (1, 2):
            seam[:, axis] = np.polyval(np.polyfit(x, seam[:, axis], LASH_CURVE_DEGREE), x)
        half = np.array([0.0, LASH_HALF_WIDTH_RADII * self.lids[side].eyeball.iris_radius, 0.0])
        strip = np.empty((len(seam), 2, 6), np.float32)
        for k, edge in enumerate((seam + half, seam - half)):
            sight = camera - edge
            strip[:, k, :3] = edge + LASH_LIFT_CM * sight / np.linalg.norm(sight, axis=1,
                                                                          keepdims=True)
        strip[:, :, 3:] = (0.0, 0.0, 1.0)
        self._vbo_lash.write(strip.tobytes())
        self._vao_lash.render(self.ctx.TRIANGLE_STRIP)

    # ------------------------------------------------------------ public

    def project(self, point: np.ndarray, head: HeadPose) -> np.ndarray:
        """Pixel position (x right, y down) where a head-space point (cm, the
        avatar's neutral frame) appears with this head pose."""
        pose = head_matrix(head.yaw_deg, head.pitch_deg, head.roll_deg)
        return self._pixels(np.asarray(point, np.float64)[None, :], self._view_proj @ pose)[0]

    def _pixels(self, points: np.ndarray, mvp: np.ndarray) -> np.ndarray:
        """(n, 2) pixel positions (as gl_FragCoord) of (n, 3) head-space points
        under a view-projection @ head matrix (a frame's several reads share one)."""
        clip = np.c_[points, np.ones(len(points))] @ mvp.T
        return (clip[:, :2] / clip[:, 3:] + 1.0) / 2.0 * np.array([self.width, self.height])

    def reflex_position(self, side: str, eye: EyeParams, head: HeadPose) -> np.ndarray:
        """Pixel position of the corneal reflex of a light at the camera: where
        the cornea's surface faces the camera, its curvature centre lying
        `appearance.reflex_lever` iris radii behind the centre of the painted
        iris on the line of sight (with reflex_as_fixating: the same offset from
        the iris as on the eye turned in to fixate the camera)."""
        pose = head_matrix(head.yaw_deg, head.pitch_deg, head.roll_deg)
        return self._reflex_pixels(side, eye, pose, self._view_proj @ pose)

    def _reflex_pixels(self, side: str, eye: EyeParams, pose: np.ndarray,
                       mvp: np.ndarray) -> np.ndarray:
        """reflex_position for a head matrix and its view-projection @ pose
        (a frame builds both once)."""
        drawn, lit = self.lids[side].eyeball, self._reflex_eyeballs[side]
        camera = _camera_in_head(pose)
        sight = lit.gaze_direction(eye.yaw_deg, eye.pitch_deg)
        lever = lit.painted_limbus_depth - self.appearance.reflex_lever * lit.iris_radius
        centre = lit.centre + lever * sight
        to_camera = camera - centre
        reflex = centre + CORNEA_RADIUS_CM * to_camera / np.linalg.norm(to_camera)
        if lit is drawn:
            return self._pixels(reflex[None, :], mvp)[0]
        px = self._pixels(np.array([reflex, iris_point(lit, eye), iris_point(drawn, eye)]), mvp)
        return px[0] - px[1] + px[2]

    def _read_rgba(self, params: MaskParams) -> np.ndarray:
        self._pose(params)
        # reading RGBA is a plain copy in llvmpipe (RGB makes it convert per
        # pixel, ~0.5 ms); dropping alpha on the CPU is cheaper
        self._fbo.read_into(self._rgba, components=4, alignment=1)
        for side, eye in (("L", params.left_eye), ("R", params.right_eye)):
            if eye.covered:
                self._draw_cover(side, params.head)
        return self._rgba

    def _draw_cover(self, side: str, head: HeadPose) -> None:
        """A flat patch over a covered eye: the doctor sees that it is covered,
        not an eye that nobody saw."""
        eb = self.lids[side].eyeball
        front = eb.centre + np.array([0.0, 0.0, eb.radius])
        c = self.project(front, head)
        ends = [self.project(front + d, head) for d in
                (np.array([COVER_HALF_CM[0], 0, 0]), np.array([0, COVER_HALF_CM[1], 0]))]
        ax = [max(1, int(round(np.linalg.norm(e - c)))) for e in ends]
        angle = float(np.degrees(np.arctan2(*(ends[0] - c)[::-1])))
        cv2.ellipse(self._rgba, (int(round(c[0])), int(round(c[1]))), tuple(ax), angle, 0, 360,
                    COVER_RGBA, -1, cv2.LINE_AA)

    def render(self, params: MaskParams) -> np.ndarray:
        """(H, W, 3) uint8 RGB; the placeholder when no face is present."""
        if not params.face_present:
            return self._placeholder.copy()
        return cv2.cvtColor(self._read_rgba(params), cv2.COLOR_RGBA2RGB)

    def render_yuv420(self, params: MaskParams) -> np.ndarray:
        """(H*3//2, W) uint8 I420, as cv2.COLOR_RGB2YUV_I420 gives for render();
        a new array each call, which the caller may keep (the relay queues it)."""
        if not params.face_present:
            return self._placeholder_yuv.copy()
        return cv2.cvtColor(self._read_rgba(params), cv2.COLOR_RGBA2YUV_I420)

    def close(self) -> None:
        if self.ctx is not None:
            self.ctx.release()
            self.ctx = None

    def __enter__(self) -> "AvatarRenderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
