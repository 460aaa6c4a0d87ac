"""Where each MediaPipe face landmark sits on the ICT face surface, derived by code.

How it is derived (`build_correspondence`):
  1. The ICT mean face (neutral, no expression, no identity) is rendered with a
     small private ModernGL/EGL renderer: Lambert-shaded skin, white sclera and a
     dark iris/pupil painted by distance from each eyeball's optical axis (the
     visible eye is the cornea/iris mesh, so colouring the iris *part* would not
     show an iris). Views: frontal plus a few yaw/pitch angles (`VIEWS`).
     A second colour attachment stores, per pixel, the ICT model-space position
     of the visible surface (a position buffer; the same as a triangle-id +
     barycentric buffer evaluated, but directly in centimetres).
  2. Each view is tracked with MediaPipe FaceMesh in static mode; each of the
     468 face landmarks is back-projected by reading the position buffer under
     its (x, y) pixel.
  3. Views are combined robustly: the per-coordinate median of the surface
     points over the views that saw the landmark, then the nearest point on the
     ICT *face* surface (vertex range PARTS["face"]; eyelid landmarks that hit the
     eyeball are pulled to the lid margin, because the eyeball moves on its own).
     The result is a triangle (3 vertex ids) + barycentric weights per landmark,
     so the point follows every expression and identity shape exactly.
  4. MediaPipe's 3D output follows its own canonical face, not ICT's: in each
     view MediaPipe's 3D landmarks are brought into the model frame with the
     view's known rotation (scale and translation fitted) and their offset from
     the corresponded points (cm) is measured: as the median over views
     (`offset`, used for pose and the person's shape) and per view
     (`view_offsets`: the fitter adds their change from the frontal view,
     interpolated at the fitted head angle, to the expression residual, since
     MediaPipe's brows and far-side contour shift as the head turns). Added to the model shape, the neutral avatar fits with zero
     expression and its true head angles.
  5. The spread of the per-view points (cm) is kept: landmarks that slide with
     the view (the face contour/jawline, FACE_OVAL below) have a large spread and
     are excluded from rigid pose and down-weighted in the fit.

Validation (tests/test_fitter.py, `anchor_errors`): the MediaPipe landmarks of
eye corners, nose and mouth corners land within a few millimetres of ICT's own
Multi-PIE 68 anchor vertices (MULTIPIE68 in assets.py). Measured (mediapipe
0.10.21): eye corners 1.5-2.1 mm, nasion 0.9, nose tip (MediaPipe 4) 2.3,
subnasale 0.5, mouth corners 0.2-2.6 mm. (MediaPipe 1 is 9 mm below ICT's tip:
it is the lower tip, not the pronasale.) The test allows 4 mm.

The result is cached in cache_dir() as a small .npz keyed by the ICT cache file
name and the mediapipe version (derived from ICT: it is never committed).
Building takes ~10 s (about 40 renders tracked in static mode, in a thread of
its own so its GL context cannot disturb the caller's); later loads read one
~60 kB file in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .assets import MULTIPIE68, PARTS, FaceModel, cache_dir, cached_arrays

CORRESPONDENCE_FORMAT = 6
N_FACE_LANDMARKS = 468

# (yaw, pitch) degrees of the rendered views. +yaw turns the face to its left.
VIEWS: tuple[tuple[float, float], ...] = (
    (0, 0), (12, 0), (-12, 0), (24, 0), (-24, 0), (0, 10), (0, -10))

# MediaPipe's face-oval (jawline/forehead contour) landmarks: they slide along
# the silhouette as the head turns.
FACE_OVAL: tuple[int, ...] = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
    400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21,
    54, 103, 67, 109)

# MediaPipe landmark -> Multi-PIE 68 index, for validation only.
ANCHORS: dict[str, tuple[int, int]] = {
    "right_eye_outer": (33, 36), "right_eye_inner": (133, 39),
    "left_eye_inner": (362, 42), "left_eye_outer": (263, 45),
    "nasion": (168, 27), "nose_tip": (4, 30), "subnasale": (2, 33),
    "mouth_right": (61, 48), "mouth_left": (291, 54),
}

IMAGE_SIZE = 640
_FOV_Y_DEG = 24.0
_CAMERA_DISTANCE = 70.0      # cm from the head's rotation centre
_HEAD_CENTRE = np.array([0.0, 1.0, 2.0], np.float32)   # rotation centre, cm (ICT frame)
_IRIS_RADIUS = 0.58          # cm, painted limbus radius
_PUPIL_RADIUS = 0.2


@dataclass
class Correspondence:
    """MediaPipe face landmark i lies at sum_k bary[i,k] * vertex[tri[i,k]]."""
    tri: np.ndarray        # (468, 3) int32 ICT vertex ids
    bary: np.ndarray       # (468, 3) float32 barycentric weights
    spread: np.ndarray     # (468,) float32, cm: per-view scatter before combining
    views_seen: np.ndarray  # (468,) int32: in how many views the landmark was found
    contour: np.ndarray    # (468,) bool: face-oval landmarks (slide with the view)
    offset: np.ndarray     # (468, 3) float32, cm: MediaPipe 3D minus ICT point, model frame
    view_angles: np.ndarray = None       # (V, 2) head (yaw, pitch) of each tracked view
    view_offsets: np.ndarray = None      # (V, 468, 3) the offset measured in that view

    def __post_init__(self) -> None:
        if self.view_angles is None:
            self.view_angles = np.zeros((1, 2), np.float32)
            self.view_offsets = self.offset[None]

    def points(self, vertices: np.ndarray) -> np.ndarray:
        """Landmark positions on a mesh (N, 3) or a stack of meshes (..., N, 3)."""
        v = vertices[..., self.tri, :]                 # (..., 468, 3, 3)
        return np.einsum("...lkc,lk->...lc", v, self.bary)

    def anchor_errors(self, model: FaceModel) -> dict[str, float]:
        """Distance (cm) between each validation landmark and its Multi-PIE anchor."""
        pts = self.points(model.neutral)
        return {name: float(np.linalg.norm(pts[mp] - model.neutral[MULTIPIE68[mpie]]))
                for name, (mp, mpie) in ANCHORS.items()}


# ------------------------------------------------------------------ loading

def correspondence_cache_file(model: FaceModel) -> Path:
    import mediapipe as mp

    return cache_dir() / (f"mp-correspondence-{Path(model.cache_file).stem}"
                          f"-mediapipe{mp.__version__}-v{CORRESPONDENCE_FORMAT}.npz")


def load_correspondence(model: FaceModel, rebuild: bool = False) -> Correspondence:
    return Correspondence(**cached_arrays(correspondence_cache_file(model),
                                          lambda: vars(build_correspondence(model)), rebuild))


# ------------------------------------------------------------------ building

def in_own_thread(fn, *args):
    """Run fn in a thread of its own: the private GL context must not disturb a
    context the calling thread may already hold (e.g. the avatar renderer's)."""
    import threading

    result: dict = {}

    def work() -> None:
        try:
            result["value"] = fn(*args)
        except BaseException as e:  # re-raised in the caller's thread
            result["error"] = e

    worker = threading.Thread(target=work, name="mean-face-render")
    worker.start()
    worker.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def build_correspondence(model: FaceModel, views=VIEWS) -> Correspondence:
    return in_own_thread(_build, model, views)


def render_mean_face(model: FaceModel, yaw: float = 0.0, pitch: float = 0.0) -> np.ndarray:
    """The ICT mean face as the correspondence build sees it (RGB, IMAGE_SIZE^2),
    head turned by yaw/pitch degrees: ground truth for pose tests."""
    def render() -> np.ndarray:
        renderer = _MeanFaceRenderer(model)
        try:
            return renderer.render(yaw, pitch)[0]
        finally:
            renderer.close()

    return in_own_thread(render)


def _build(model: FaceModel, views) -> Correspondence:
    from ..tracking import MediaPipeTracker

    renderer = _MeanFaceRenderer(model)
    tracker = MediaPipeTracker(static_image_mode=True)
    try:
        corr = _surface_correspondence(model, views, renderer, tracker)
    finally:
        tracker.close()
        renderer.close()
    return corr


def _surface_correspondence(model: FaceModel, views, renderer: "_MeanFaceRenderer",
                            tracker) -> Correspondence:
    hits = np.full((len(views), N_FACE_LANDMARKS, 3), np.nan, np.float32)
    tracked = []                     # MediaPipe 3D landmarks of each tracked view
    for v, (yaw, pitch) in enumerate(views):
        rgb, pos, hit = renderer.render(yaw, pitch)
        lm = tracker.track(rgb)
        if lm is None:
            continue
        tracked.append(((yaw, pitch), lm.points[:N_FACE_LANDMARKS]))
        xy = np.rint(lm.points[:N_FACE_LANDMARKS, :2]).astype(int)
        inside = (xy[:, 0] >= 0) & (xy[:, 0] < IMAGE_SIZE) & (xy[:, 1] >= 0) \
            & (xy[:, 1] < IMAGE_SIZE)
        xy = np.clip(xy, 0, IMAGE_SIZE - 1)
        ok = inside & hit[xy[:, 1], xy[:, 0]]
        hits[v, ok] = pos[xy[ok, 1], xy[ok, 0]]
    seen = np.sum(~np.isnan(hits[:, :, 0]), axis=0).astype(np.int32)
    if (seen == 0).any() or np.isnan(hits[0, :, 0]).mean() > 0.05:
        raise RuntimeError("MediaPipe did not track the rendered ICT mean face; "
                           "cannot derive the landmark correspondence")
    median = np.nanmedian(hits, axis=0)
    spread = np.nanmedian(np.linalg.norm(hits - median, axis=2), axis=0).astype(np.float32)
    tri, bary = _nearest_surface_points(model, median)
    contour = np.zeros(N_FACE_LANDMARKS, bool)
    contour[list(FACE_OVAL)] = True
    corr = Correspondence(tri=tri, bary=bary, spread=spread, views_seen=seen, contour=contour,
                          offset=np.zeros((N_FACE_LANDMARKS, 3), np.float32))
    offsets = _mediapipe_offsets(corr.points(model.neutral.astype(np.float64)), tracked,
                                 ~contour)
    corr.view_angles = np.array([angles for angles, _ in tracked], np.float32)
    corr.view_offsets = offsets.astype(np.float32)
    corr.offset = np.median(offsets, axis=0).astype(np.float32)
    return corr


def _det3(m: np.ndarray) -> float:
    """Determinant of a 3x3 matrix (np.linalg.det costs 7 µs a call; only
    the sign of an orthogonal matrix's is needed, which is never in doubt)."""
    (a, b, c), (d, e, f), (g, h, i) = m.tolist()
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)


def similarity(model_pts: np.ndarray, obs: np.ndarray, w: np.ndarray):
    """Weighted Umeyama: s, R, t minimising sum w |obs - (s R x + t)|^2."""
    wsum = w.sum()
    mx = w @ model_pts / wsum
    mo = w @ obs / wsum
    xc, oc = model_pts - mx, obs - mo
    cov = (oc * w[:, None]).T @ xc / wsum
    u, sv, vt = np.linalg.svd(cov)
    d = np.ones(3)
    if _det3(u) * _det3(vt) < 0:
        d[2] = -1.0
    r = (u * d) @ vt
    var_x = w @ np.einsum("ij,ij->i", xc, xc) / wsum
    s = float((sv * d).sum() / var_x)
    return s, r, mo - s * r @ mx


def to_camera_frame(points: np.ndarray) -> np.ndarray:
    """MediaPipe pixels (x right, y down, z away) -> x right, y up, z towards the camera."""
    return np.asarray(points, np.float64) * (1.0, -1.0, -1.0)


def _mediapipe_offsets(model_pts: np.ndarray, tracked: list[tuple[tuple, np.ndarray]],
                       use: np.ndarray) -> np.ndarray:
    offsets = []
    for angles, pts in tracked:
        r = _rotation(*angles)
        p = to_camera_frame(pts)
        xc = (model_pts[use] - model_pts[use].mean(0)) @ r.T      # rotated, centred
        pc = p[use] - p[use].mean(0)
        s = float(np.sum(xc * pc) / np.sum(xc * xc))
        t = p[use].mean(0) - s * r @ model_pts[use].mean(0)
        offsets.append((p - t) @ r / s - model_pts)
    return np.array(offsets)


class ViewOffset:
    """MediaPipe's offset from ICT at a head angle: piecewise linear in yaw (the
    pitch-0 views) plus piecewise linear in pitch (the yaw-0 views), clamped to
    the rendered range. Flat (3L,) arrays, for the fitter's per-frame use."""

    def __init__(self, corr: Correspondence):
        a, o = corr.view_angles.astype(np.float64), corr.view_offsets.astype(np.float32)
        front = np.nonzero((a[:, 0] == 0) & (a[:, 1] == 0))[0]
        self.front = (o[front[0]] if len(front) else corr.offset.astype(np.float32)).reshape(-1)

        def table(axis: int):
            sel = np.nonzero(a[:, 1 - axis] == 0)[0]
            order = sel[np.argsort(a[sel, axis])]
            return a[order, axis], o[order].reshape(len(order), -1)

        self.yaw_at, self.yaw_off = table(0)
        self.pitch_at, self.pitch_off = table(1)

    @staticmethod
    def _interp(at: np.ndarray, values: np.ndarray, x: float) -> np.ndarray:
        if len(at) == 1 or x <= at[0]:
            return values[0]
        if x >= at[-1]:
            return values[-1]
        i = int(np.searchsorted(at, x)) - 1
        w = np.float32((x - at[i]) / (at[i + 1] - at[i]))
        return values[i] + w * (values[i + 1] - values[i])

    def __call__(self, yaw: float, pitch: float) -> np.ndarray:
        return (self._interp(self.yaw_at, self.yaw_off, yaw)
                + self._interp(self.pitch_at, self.pitch_off, pitch) - self.front)

    def change(self, yaw: float, pitch: float) -> np.ndarray:
        """How much the offset at this head angle differs from the frontal one."""
        return self(yaw, pitch) - self.front


def _face_triangles(model: FaceModel) -> np.ndarray:
    a, b = PARTS["face"]
    t = model.tri_v
    return t[np.all((t >= a) & (t < b), axis=1)]


def _nearest_surface_points(model: FaceModel, targets: np.ndarray):
    """Closest point on the ICT face surface for each target: triangle + barycentrics."""
    from scipy.spatial import cKDTree

    tris = _face_triangles(model)
    verts = model.neutral.astype(np.float64)
    centroids = verts[tris].mean(axis=1)
    tree = cKDTree(centroids)
    out_tri = np.zeros((len(targets), 3), np.int32)
    out_bary = np.zeros((len(targets), 3), np.float32)
    _, cand = tree.query(targets, k=48)
    for i, p in enumerate(targets.astype(np.float64)):
        best = (np.inf, None, None)
        for t in cand[i]:
            a, b, c = verts[tris[t]]
            q, w = _closest_point_on_triangle(p, a, b, c)
            d = np.sum((p - q) ** 2)
            if d < best[0]:
                best = (d, tris[t], w)
        out_tri[i], out_bary[i] = best[1], best[2]
    return out_tri, out_bary


def _closest_point_on_triangle(p, a, b, c):
    """Closest point and its barycentric weights (Ericson, Real-Time Collision Detection)."""
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = ab @ ap, ac @ ap
    if d1 <= 0 and d2 <= 0:
        return a, (1.0, 0.0, 0.0)
    bp = p - b
    d3, d4 = ab @ bp, ac @ bp
    if d3 >= 0 and d4 <= d3:
        return b, (0.0, 1.0, 0.0)
    vc = d1 * d4 - d3 * d2
    if vc <= 0 and d1 >= 0 and d3 <= 0:
        v = d1 / (d1 - d3)
        return a + v * ab, (1 - v, v, 0.0)
    cp = p - c
    d5, d6 = ab @ cp, ac @ cp
    if d6 >= 0 and d5 <= d6:
        return c, (0.0, 0.0, 1.0)
    vb = d5 * d2 - d1 * d6
    if vb <= 0 and d2 >= 0 and d6 <= 0:
        w = d2 / (d2 - d6)
        return a + w * ac, (1 - w, 0.0, w)
    va = d3 * d6 - d5 * d4
    if va <= 0 and (d4 - d3) >= 0 and (d5 - d6) >= 0:
        w = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        return b + w * (c - b), (0.0, 1 - w, w)
    denom = 1.0 / (va + vb + vc)
    v, w = vb * denom, vc * denom
    return a + ab * v + ac * w, (1 - v - w, v, w)


# ------------------------------------------------------- private mean-face render

_VS = """
#version 330
uniform mat4 mvp;
uniform mat3 rot;
in vec3 in_pos; in vec3 in_normal; in float in_material;
out vec3 v_model; out vec3 v_normal; flat out int v_material;
void main() {
    v_model = in_pos; v_normal = rot * in_normal; v_material = int(in_material + 0.5);
    gl_Position = mvp * vec4(in_pos, 1.0);
}
"""
_FS = """
#version 330
uniform vec3 eye_centre[2]; uniform vec3 eye_axis[2];
uniform float iris_radius; uniform float pupil_radius;
in vec3 v_model; in vec3 v_normal; flat in int v_material;
layout(location = 0) out vec4 colour;
layout(location = 1) out vec4 position;
void main() {
    vec3 n = normalize(v_normal);
    float light = 0.35 + 0.65 * max(dot(n, normalize(vec3(0.2, 0.35, 1.0))), 0.0);
    vec3 c = vec3(0.80, 0.68, 0.60) * light;           // skin
    if (v_material == 1) {                             // eyeball: sclera, iris, pupil
        int e = v_model.x > 0.0 ? 0 : 1;
        vec3 d = v_model - eye_centre[e];
        float along = dot(d, eye_axis[e]);
        float lateral = length(d - along * eye_axis[e]);
        c = vec3(0.93);
        if (along > 0.0 && lateral < iris_radius) c = vec3(0.30, 0.20, 0.14);
        if (along > 0.0 && lateral < pupil_radius) c = vec3(0.03);
    }
    colour = vec4(c, 1.0);
    position = vec4(v_model, 1.0);
}
"""


def _rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """Head rotation: +yaw turns the face to its left (image right), +pitch chin up."""
    y, p = np.radians(yaw_deg), np.radians(-pitch_deg)
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    return ry @ rx


class _MeanFaceRenderer:
    """Renders the neutral ICT face for MediaPipe plus a model-position buffer."""

    _PARTS = ("face", "head_neck", "mouth_socket", "eye_socket_left", "eye_socket_right",
              "sclera_left", "sclera_right", "iris_left", "iris_right")

    def __init__(self, model: FaceModel):
        import moderngl

        from .eyes import cornea_axis, eyeball_geometry

        self.ctx = moderngl.create_standalone_context(backend="egl")
        tri = np.concatenate([model.tri_v[model.triangles_of(p)] for p in self._PARTS])
        eye_lo, eye_hi = PARTS["sclera_left"][0], PARTS["iris_right"][1]
        pos = model.neutral.astype(np.float32)
        normals = _vertex_normals(pos, model.tri_v)
        flat = tri.reshape(-1)
        material = ((flat >= eye_lo) & (flat < eye_hi)).astype(np.float32)
        data = np.concatenate([pos[flat], normals[flat], material[:, None]], axis=1)
        self.prog = self.ctx.program(vertex_shader=_VS, fragment_shader=_FS)
        self.vbo = self.ctx.buffer(np.ascontiguousarray(data, np.float32).tobytes())
        self.vao = self.ctx.vertex_array(
            self.prog, [(self.vbo, "3f 3f 1f", "in_pos", "in_normal", "in_material")])
        sides = ("left", "right")
        centres = [eyeball_geometry(model, side).centre for side in sides]
        axes = [cornea_axis(model, side) for side in sides]
        self.prog["eye_centre"].write(np.array(centres, np.float32).tobytes())
        self.prog["eye_axis"].write(np.array(axes, np.float32).tobytes())
        self.prog["iris_radius"].value = _IRIS_RADIUS
        self.prog["pupil_radius"].value = _PUPIL_RADIUS
        s = IMAGE_SIZE
        self.colour = self.ctx.texture((s, s), 4)
        self.position = self.ctx.texture((s, s), 4, dtype="f4")
        self.depth = self.ctx.depth_renderbuffer((s, s))
        self.fbo = self.ctx.framebuffer([self.colour, self.position], self.depth)

    def render(self, yaw: float, pitch: float):
        """RGB image, model position per pixel, and a hit mask (all top row first);
        the irises are painted on ICT's own cornea axes."""
        import moderngl

        r = _rotation(yaw, pitch)
        model_m = np.eye(4)
        model_m[:3, :3] = r
        model_m[:3, 3] = -r @ _HEAD_CENTRE
        view = np.eye(4)
        view[2, 3] = -_CAMERA_DISTANCE
        f = 1.0 / np.tan(np.radians(_FOV_Y_DEG) / 2)
        near, far = 10.0, 200.0
        proj = np.array([[f, 0, 0, 0], [0, f, 0, 0],
                         [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)],
                         [0, 0, -1, 0]])
        mvp = proj @ view @ model_m
        self.prog["mvp"].write(mvp.T.astype(np.float32).tobytes())
        self.prog["rot"].write(r.T.astype(np.float32).tobytes())
        self.fbo.use()
        self.ctx.enable(moderngl.DEPTH_TEST)
        self.fbo.clear(0.55, 0.60, 0.65, 1.0, depth=1.0)
        self.vao.render(moderngl.TRIANGLES)
        s = IMAGE_SIZE
        rgb = np.frombuffer(self.fbo.read(components=3, attachment=0), np.uint8)
        rgb = rgb.reshape(s, s, 3)[::-1].copy()
        pos = np.frombuffer(self.fbo.read(components=4, attachment=1, dtype="f4"), np.float32)
        pos = pos.reshape(s, s, 4)[::-1]
        # The position attachment is cleared to the background grey (w = 1) too:
        # only pixels with geometry have depth < 1.
        depth = np.frombuffer(self.fbo.read(components=1, attachment=-1, dtype="f4"), np.float32)
        hit = depth.reshape(s, s)[::-1] < 1.0
        return rgb, pos[..., :3].copy(), hit

    def close(self) -> None:
        self.ctx.release()


def _vertex_normals(pos: np.ndarray, tri: np.ndarray) -> np.ndarray:
    face_n = np.cross(pos[tri[:, 1]] - pos[tri[:, 0]], pos[tri[:, 2]] - pos[tri[:, 0]])
    n = np.zeros_like(pos)
    for k in range(3):
        np.add.at(n, tri[:, k], face_n)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)
