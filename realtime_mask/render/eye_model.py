"""Eye geometry of the avatar and the per-frame eyelid solve.

Everything here is measured once from the avatar mesh (mean ICT face, or a
synthetic identity): the eyeball sphere and its forward axis, the avatar's iris
radius, the visible upper/lower lid margins, and how the lid blendshapes move
those margins. Per frame, `EyeLids.solve` turns the MaskParams lid targets
(margin height above / below the *rotated* iris centre, in iris radii) into
blendshape weights in closed form.

Gaze rotates the eyeball; the lids follow it because their targets are
measured from the rotated iris centre (look up with the same MRD1 and the lid
rises). The lid shapes alone lift the upper lid only so far: on the mean
face a normal upper lid (MRD1 4.4 mm) was drawn at 2.0 mm looking 20 degrees
up, and no lid above 7.1 mm in primary gaze. There ICT's eyeLookUp, the lid
shape ICT pairs with upgaze (used on the face mesh only: the eyeballs are
drawn by rotation), lifts it on, as far as needed (`EyeLids.solve`).

Coordinates: ICT head space, centimetres, +x = the face's own left (image right
in a frontal view), +y up, +z forward (towards the camera).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ..face_model.assets import PARTS
from ..params import NEUTRAL_LOWER_LID, NEUTRAL_UPPER_LID

SIDES = ("L", "R")                                    # ICT suffix: L = face's own left
PART_SIDE = {"L": "left", "R": "right"}
# The outer eyeball shell (ICT calls its range "sclera"): a sphere with the
# cornea bulge in front. The iris is painted on it by the distance from the
# fitted cornea axis (shaders/eye.frag), not by ICT's UV map, whose centre lies
# up to a millimetre off that axis, differently for each face shape. The inner
# range ("iris") lies fully behind the shell and is never visible.
LID_RINGS = 7                                          # rings around the eye hole searched
MARGIN_SAMPLES = 17                                    # columns along the lid margin
UPPER_LASH_RINGS = 2                                   # lash line: rings past the upper margin
UPPER_SHAPES = ("eyeBlink", "eyeWide")                 # lower / raise the upper lid
LOWER_SHAPES = ("eyeSquint",)                          # raise the lower lid
LIFT_SHAPES = ("eyeLookUp",)                           # lifts the upper lid where eyeWide stops
# Negative eyeSquint (down to this) lowers the lower lid, e.g. when the eye looks
# down with an unchanged MRD2; ICT has no shape that lowers only the lower lid.
LOWER_DROP_LIMIT = -0.6
CLOSED_APERTURE = 0.05          # upper_lid + lower_lid at or below this: closed
SHORTFALL = 1e-3                # iris radii (6 µm): a lid nearer its target than this reached it
CLOSE_OVERLAP = 0.25            # iris radii the closed margins overlap


def lids_shut(upper_lid: float, lower_lid: float) -> bool:
    """The lids meet (margins overlapping): the solve closes them and the
    renderer draws no eyeball behind them."""
    return upper_lid + lower_lid <= CLOSED_APERTURE


def rot_x(deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], np.float64)


def rot_y(deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], np.float64)


def rot_z(deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], np.float64)


def gaze_rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """Fick gimbal: + yaw turns the front (+z) towards +x (the patient's left),
    + pitch turns it up (+y)."""
    return rot_y(yaw_deg) @ rot_x(-pitch_deg)


def align_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking unit vector a onto unit vector b."""
    v = np.cross(a, b)
    c = float(a @ b)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1.0 + c)


def fit_sphere(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares sphere through points: |p|^2 = 2 p.c + (r^2 - |c|^2)."""
    p = points.astype(np.float64)
    a = np.c_[2 * p, np.ones(len(p))]
    x = np.linalg.lstsq(a, (p * p).sum(1), rcond=None)[0]
    c = x[:3]
    return c, float(np.sqrt(x[3] + c @ c))


@dataclass(frozen=True)
class Eyeball:
    """One eyeball: a sphere, the cornea axis, and the avatar's iris size."""
    centre: np.ndarray          # (3,) cm
    radius: float               # sphere radius without the cornea bulge, cm
    axis: np.ndarray            # (3,) unit cornea axis as modelled (ICT's eyes diverge ~11 deg)
    align: np.ndarray           # (3,3) rotation taking axis onto +z: gaze 0 = straight ahead
    iris_radius: float          # cm, the unit of the lid parameters and the painted limbus
    limbus_depth: float         # centre -> iris plane distance along the axis, cm
    # centre -> plane of the painted limbus, which lies on the cornea bulge (cm):
    # where the iris is seen, and so where a corneal reflex is read against
    painted_limbus_depth: float = 0.0
    # Where gaze 0 looks: 0 = straight ahead (parallel eyes, the avatar); a
    # synthetic patient fixates the camera, as a patient looking at the screen
    # does, and each eye turns in by this much (AvatarRenderer fixate_camera).
    fixation_yaw_deg: float = 0.0

    def gaze_direction(self, yaw_deg: float, pitch_deg: float) -> np.ndarray:
        """Unit line of sight for this gaze, head space: gaze_rotation's third
        column, written out (bit for bit the same, at a tenth of the cost of
        building the matrices; it runs several times a frame)."""
        yaw, pitch = math.radians(yaw_deg + self.fixation_yaw_deg), math.radians(pitch_deg)
        cos_pitch = math.cos(pitch)
        return np.array([math.sin(yaw) * cos_pitch, math.sin(pitch), math.cos(yaw) * cos_pitch])

    def iris_centre(self, yaw_deg: float, pitch_deg: float) -> np.ndarray:
        """Centre of the visible iris disc for this gaze, head space."""
        return self.centre + self.gaze_direction(yaw_deg, pitch_deg) * self.limbus_depth

    def model_matrix(self, yaw_deg: float, pitch_deg: float) -> np.ndarray:
        """4x4 (column vectors) rotating the eyeball about its centre."""
        r = gaze_rotation(yaw_deg + self.fixation_yaw_deg, pitch_deg) @ self.align
        m = np.eye(4)
        m[:3, :3] = r
        m[:3, 3] = self.centre - r @ self.centre
        return m


# ------------------------------------------------------------------ mesh topology

def _neighbours(tri: np.ndarray) -> dict[int, set[int]]:
    nb: dict[int, set[int]] = defaultdict(set)
    for a, b, c in tri.tolist():
        nb[a].update((b, c))
        nb[b].update((a, c))
        nb[c].update((a, b))
    return nb


def _boundary_loops(tri: np.ndarray) -> list[np.ndarray]:
    """Closed boundary vertex loops (edges used by exactly one triangle)."""
    e = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    uniq, count = np.unique(e, axis=0, return_counts=True)
    adj: dict[int, list[int]] = defaultdict(list)
    for a, b in uniq[count == 1].tolist():
        adj[a].append(b)
        adj[b].append(a)
    seen: set[int] = set()
    loops = []
    for start in adj:
        if start in seen:
            continue
        loop, prev, cur = [start], -1, start
        seen.add(start)
        while True:
            nxt = [n for n in adj[cur] if n != prev and n not in seen]
            if not nxt:
                break
            prev, cur = cur, nxt[0]
            loop.append(cur)
            seen.add(cur)
        loops.append(np.array(loop))
    return loops


def eye_hole_loops(face_tri: np.ndarray, pos: np.ndarray) -> dict[str, np.ndarray]:
    """The face mesh's eye-opening boundary loops, keyed by ICT side."""
    out = {}
    for loop in _boundary_loops(face_tri):
        p = pos[loop]
        size = np.ptp(p, axis=0)
        centre = p.mean(0)
        if 1.0 < size[0] < 6.0 and size[1] < 4.0 and centre[1] > 0.5 and abs(centre[0]) > 1.0:
            out["L" if centre[0] > 0 else "R"] = loop
    if set(out) != {"L", "R"}:
        raise RuntimeError("could not find both eye openings in the face mesh")
    return out


# ------------------------------------------------------------------ eyeball

def fit_eyeball(pos: np.ndarray, side: str, resting_aperture: float) -> Eyeball:
    """Measure one eyeball from the outer shell. The iris radius is chosen so the
    mesh's own resting lids read as the neutral MRD1/MRD2 of MaskParams."""
    a, b = PARTS["sclera_" + PART_SIDE[side]]
    p = pos[a:b].astype(np.float64)
    c, r = fit_sphere(p)
    d = np.linalg.norm(p - c, axis=1)
    cap = d > r + 0.03                                 # the cornea bulge
    axis = ((p[cap] - c) / d[cap, None]).mean(0)
    axis /= np.linalg.norm(axis)
    c, r = fit_sphere(p[~cap])                         # sphere without the bulge
    align = align_rotation(axis, np.array([0.0, 0.0, 1.0]))

    # Iris size: the resting lid aperture above the iris equals the neutral
    # MRD1 + MRD2 of MaskParams, so the mesh's own rest pose is the neutral eye.
    iris_r = resting_aperture / (NEUTRAL_UPPER_LID + NEUTRAL_LOWER_LID)
    limbus_depth = float(np.sqrt(max(r * r - iris_r * iris_r, 1e-6)))
    q = (p - c) @ align.T                              # eye frame: the axis along +z
    ring = (np.abs(np.hypot(q[:, 0], q[:, 1]) - iris_r) < 0.05) & (q[:, 2] > 0)
    painted = float(np.median(q[ring, 2])) if ring.any() else limbus_depth

    return Eyeball(centre=c, radius=r, axis=axis, align=align, iris_radius=float(iris_r),
                   limbus_depth=limbus_depth, painted_limbus_depth=painted)


# ------------------------------------------------------------------ lid margins

@dataclass(frozen=True)
class LidMargin:
    """A lid margin as a polyline of mesh vertices sampled along x."""
    xs: np.ndarray              # (S,) sample x positions (neutral), increasing
    verts: np.ndarray           # (S,) vertex index of the visible margin at each x

    def height(self, x: float, y_of_vertex: np.ndarray) -> float:
        """Margin height at x given per-vertex y values (indexed like verts)."""
        return float(np.interp(x, self.xs, y_of_vertex))


def find_lid_margins(face_tri: np.ndarray, pos: np.ndarray, hole: np.ndarray
                     ) -> tuple[LidMargin, LidMargin, np.ndarray, np.ndarray]:
    """Upper and lower visible margins of one eye, and the lid edge vertices
    (from the hole up to the margin: the lid's rim, drawn as a dark lash line).

    The face's eye hole continues into the socket, so the hole boundary is not
    the visible margin; the visible margin is the lowest (upper lid) / highest
    (lower lid) lid vertex in each column among a few rings around the hole."""
    nb = _neighbours(face_tri)
    ring = set(hole.tolist())
    ring_of = {v: 0 for v in ring}
    for k in range(1, LID_RINGS + 1):
        nxt: set[int] = set()
        for v in ring:
            nxt |= nb[v]
        nxt -= set(ring_of)
        ring_of.update({v: k for v in nxt})
        ring = nxt
    cand = np.array(sorted(ring_of))
    rings = np.array([ring_of[v] for v in cand])
    hp = pos[hole]
    inner, outer = hp[np.argmin(np.abs(hp[:, 0]))], hp[np.argmax(np.abs(hp[:, 0]))]
    x0, x1 = sorted((inner[0], outer[0]))
    cp = pos[cand]
    # side of the corner-to-corner line
    t = (cp[:, 0] - inner[0]) / (outer[0] - inner[0])
    line_y = inner[1] + t * (outer[1] - inner[1])
    above = cp[:, 1] > line_y
    width = x1 - x0
    xs = np.linspace(x0 + 0.06 * width, x1 - 0.06 * width, MARGIN_SAMPLES)
    half = 0.5 * (xs[1] - xs[0]) + 0.02
    up, lo, rim_up, rim_lo = [], [], [], []
    for x in xs:
        col = np.abs(cp[:, 0] - x) < half
        u = col & above
        l_ = col & ~above
        iu, il = np.argmin(cp[u, 1]), np.argmax(cp[l_, 1])
        up.append(cand[u][iu])
        lo.append(cand[l_][il])
        rim_up.append(cand[u][rings[u] <= rings[u][iu] + UPPER_LASH_RINGS])
        rim_lo.append(cand[l_][rings[l_] <= rings[l_][il]])
    return (LidMargin(xs, np.array(up)), LidMargin(xs, np.array(lo)),
            np.unique(np.concatenate(rim_up)), np.unique(np.concatenate(rim_lo)))


# ------------------------------------------------------------------ lid solve

@dataclass
class EyeLids:
    """Everything needed per frame for one eye's lids."""
    side: str
    eyeball: Eyeball
    upper: LidMargin
    lower: LidMargin
    shape_index: dict[str, int]         # lid shape name -> expression index
    dy_upper: np.ndarray                # (E, S) how each expression moves the upper margin samples
    dy_lower: np.ndarray                # (E, S)
    y_upper: np.ndarray                 # (S,) neutral margin y
    y_lower: np.ndarray
    upper_rim: np.ndarray               # vertex ids of the lid edges (lash lines)
    lower_rim: np.ndarray
    wide_limit: float = 1.0             # most eyeWide weight the solve may use
    lift_beyond_wide: bool = True       # eyeLookUp lifts the upper lid where eyeWide stops

    def solve(self, expression_weights: np.ndarray, yaw_deg: float, pitch_deg: float,
              upper_lid: float, lower_lid: float) -> dict[int, float]:
        """Lid shape weights putting both margins at their targets.

        expression_weights: (E,) the weights already applied (brows, cheeks...),
        which move the lids too. Returns {expression index: weight}.

        Where the lid shapes cannot lift the upper lid far enough (an eye
        looking up, a lid retraction), ICT's eyeLookUp, the lid shape ICT pairs
        with upgaze, carries it on, as far as needed and no further, and the
        lid shapes are solved again on top of it. Targets the lid shapes reach
        are solved as without it. (The lower lid keeps the lid shapes' range:
        drawn lower in downgaze too, as asked, the re-tracked apertures read
        further from the patient's, as the read-out barely follows a lower
        lid; docs/measurements.md, session 24.)"""
        weights, short_up, short_low = self._lid_shapes(
            expression_weights, yaw_deg, pitch_deg, upper_lid, lower_lid)
        # most frames reach their targets: that test first
        if (short_up <= SHORTFALL * self.eyeball.iris_radius or not self.lift_beyond_wide
                or lids_shut(upper_lid, lower_lid)):
            return weights
        up = self._moves("eyeLookUp", float(self.eyeball.iris_centre(yaw_deg, pitch_deg)[0]))
        # as far as the upper lid needs, or the lower lid too when it is short
        # upwards (an eye looking up): the blink shape takes back the overshoot
        index = self.shape_index["eyeLookUp"]
        w = min(max(float(short_up / up[0]), float(short_low / up[1]), 0.0), 1.0)
        applied = expression_weights.copy()
        applied[index] = w
        weights = self._lid_shapes(applied, yaw_deg, pitch_deg, upper_lid, lower_lid)[0]
        return {index: w, **weights}

    def _moves(self, name: str, x: float) -> tuple[float, float]:
        """(upper, lower) margin move at x (cm, + up) of one lid shape at weight 1."""
        i = self.shape_index[name]
        return (self.upper.height(x, self.dy_upper[i]), self.lower.height(x, self.dy_lower[i]))

    def _lid_shapes(self, expression_weights: np.ndarray, yaw_deg: float, pitch_deg: float,
                    upper_lid: float, lower_lid: float
                    ) -> tuple[dict[int, float], float, float]:
        """The lid shapes' weights, and how far (cm, + up) each margin is left
        short of its target: upper, lower."""
        eb = self.eyeball
        q = eb.iris_centre(yaw_deg, pitch_deg)
        x = float(q[0])
        wy_u = self.y_upper + expression_weights @ self.dy_upper
        wy_l = self.y_lower + expression_weights @ self.dy_lower
        h_u = self.upper.height(x, wy_u)
        h_l = self.lower.height(x, wy_l)
        rho = eb.iris_radius
        closing = lids_shut(upper_lid, lower_lid)
        if closing:
            # Closed: the margins overlap so that no sliver of eyeball shows.
            upper_lid = -lower_lid - CLOSE_OVERLAP
        t_u = q[1] + upper_lid * rho - h_u         # how far each margin must move
        t_l = q[1] - lower_lid * rho - h_l

        blink, wide, squint = (self._moves(n, x) for n in ("eyeBlink", "eyeWide", "eyeSquint"))
        # Upper lid: blink (down) or wide (up); lower lid: squint (up, or down
        # when negative). Solve the 2x2 system with the upper shape whose
        # weight comes out with the right sign.
        name, sh = "eyeBlink", blink
        wu, ws = np.linalg.solve(np.array([[sh[0], squint[0]], [sh[1], squint[1]]]), [t_u, t_l])
        if wu < 0:
            name, sh = "eyeWide", wide
            wu, ws = np.linalg.solve(np.array([[sh[0], squint[0]], [sh[1], squint[1]]]),
                                     [t_u, t_l])
        if name == "eyeBlink" and wu > 1.0:
            # A full blink cannot lower the lid that far (ICT's blink alone
            # leaves a small gap): keep the aperture instead, raising the lower lid.
            ws = (t_u - t_l - sh[0] + sh[1]) / (squint[0] - squint[1])
        ws = min(max(float(ws), LOWER_DROP_LIMIT), 1.0)
        if closing:
            # The lower lid may fall short of its target (e.g. the eye rolled
            # up): bring the upper lid down to where the lower lid got.
            t_u = min(t_u, h_l + ws * squint[1] - CLOSE_OVERLAP * rho - h_u)
        # the upper lid alone, for the (clipped) lower weight
        rest = t_u - ws * squint[0]
        name, sh = ("eyeBlink", blink) if rest < 0 else ("eyeWide", wide)
        wu = min(max(float(rest / sh[0]), 0.0), 1.0 if name == "eyeBlink" else self.wide_limit)
        weights = {self.shape_index[name]: wu, self.shape_index["eyeSquint"]: ws}
        return weights, rest - wu * sh[0], t_l - wu * sh[1] - ws * squint[1]

    def margin_heights(self, weights: np.ndarray, yaw_deg: float, pitch_deg: float
                       ) -> tuple[float, float]:
        """(upper_lid, lower_lid) in iris radii that the mesh shows for these
        full expression weights (lid shapes included): the solve's check."""
        q = self.eyeball.iris_centre(yaw_deg, pitch_deg)
        x = float(q[0])
        h_u = self.upper.height(x, self.y_upper + weights @ self.dy_upper)
        h_l = self.lower.height(x, self.y_lower + weights @ self.dy_lower)
        rho = self.eyeball.iris_radius
        return (h_u - q[1]) / rho, (q[1] - h_l) / rho


def build_eye_lids(pos: np.ndarray, face_tri: np.ndarray, expression_deltas: np.ndarray,
                   expression_names: tuple[str, ...]) -> dict[str, EyeLids]:
    """Measure both eyes of a mesh (neutral pose of the avatar identity)."""
    holes = eye_hole_loops(face_tri, pos)
    out = {}
    for side in SIDES:
        upper, lower, rim_up, rim_lo = find_lid_margins(face_tri, pos, holes[side])
        c0, _ = fit_sphere(pos[slice(*PARTS["sclera_" + PART_SIDE[side]])])
        y_u = pos[upper.verts, 1].astype(np.float64)
        y_l = pos[lower.verts, 1].astype(np.float64)
        # Straight gaze puts the iris centre in front of the eyeball centre.
        aperture = float(np.interp(c0[0], upper.xs, y_u) - np.interp(c0[0], lower.xs, y_l))
        eb = fit_eyeball(pos, side, aperture)
        index = {n: expression_names.index(f"{n}_{side}")
                 for n in UPPER_SHAPES + LOWER_SHAPES + LIFT_SHAPES}
        out[side] = EyeLids(
            side=side, eyeball=eb, upper=upper, lower=lower, shape_index=index,
            dy_upper=expression_deltas[:, upper.verts, 1].astype(np.float64),
            dy_lower=expression_deltas[:, lower.verts, 1].astype(np.float64),
            y_upper=y_u, y_lower=y_l, upper_rim=rim_up, lower_rim=rim_lo)
    return out
