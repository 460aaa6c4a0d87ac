"""The drawable avatar mesh: which triangles are drawn, static colours, and a
sparse per-expression blend of positions and normals.

Only the parts the camera sees are kept (face with scalp and neck, eye sockets,
mouth socket, the front of the eyeballs); teeth, gums, the inner eyeball shell,
lacrimal/occlusion strips and eyelashes are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.linalg import blas

from ..face_model.assets import MULTIPIE68, PARTS, FaceModel
from .appearance import Appearance
from .eye_model import PART_SIDE, SIDES, Eyeball

SURFACE_PARTS = ("face", "head_neck", "eye_socket_left", "eye_socket_right")
# Away from the eyes, brows, nose and mouth the ICT mesh is far denser than the
# pixels it covers (ears especially: ~4 px^2 per triangle at 640x480), and on
# llvmpipe every triangle costs. There vertices are merged onto one vertex per
# grid cell: a global vertex remap, so no cracks, and every kept vertex is an
# ICT vertex, so the blendshapes still apply.
DETAIL_RADIUS = 0.7                 # cm around the brow, nose, eye and lip landmarks: full detail
FACE_RADIUS = 2.5                   # cm around landmarks 17..67 (brows, nose, eyes, mouth)
FACE_CELL = 0.3                     # cm grid there
EAR_CELL = 0.35                     # cm grid on the ears (folds show at head yaw)
EAR_X = 6.0                         # cm: |x| beyond this on the face part is ear
PERIPHERY_CELL = 0.7                # cm grid for the rest (scalp, neck)
MOUTH_CELL = 0.4
BACK_Z = -1.0                       # cm: behind this the head is "back"
BACK_CELL = 0.8
MOUTH_PARTS = ("mouth_socket",)
EYE_CAP_DEG = 105.0                 # eyeball shell drawn up to this angle from the axis
SOCKET_RGB = (0.55, 0.30, 0.30)      # conjunctiva, seen in the eye corners
MOUTH_RGB = (0.25, 0.08, 0.08)
UPPER_RIM_RGB = (0.16, 0.11, 0.09)   # upper lash line
BROW_HALF_WIDTH = (0.42, 0.18)       # cm, inner and outer end of a brow
BROW_EDGE = 0.15                     # cm, soft edge width
LIP_EDGE = 0.15
MIN_DELTA_CM = 1e-3
LOCALITY_CELL = 0.5                  # cm: vertex order scans a grid of this size row by row
LOWER_RIM_SHADE = 0.7                # lower lid edge: darker skin


def vertex_normals(pos: np.ndarray, tri: np.ndarray, incidence: sparse.csr_matrix
                   ) -> np.ndarray:
    """Area-weighted vertex normals (unnormalised sums are fine for blending)."""
    p = pos[tri]
    fn = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    n = incidence @ fn
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def _inside_polygon(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test, vectorised over points (2D)."""
    x, y = pts[:, 0:1], pts[:, 1:2]
    x0, y0 = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = ((y0 > y) != (y1 > y)) & (x < (x1 - x0) * (y - y0) / (y1 - y0 + 1e-12) + x0)
    return crosses.sum(1) % 2 == 1


def _polyline_distance(pts: np.ndarray, line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance of 2D points to a polyline, and where along it (0..1) the
    nearest point lies."""
    best = np.full(len(pts), np.inf)
    where = np.zeros(len(pts))
    seg_len = np.linalg.norm(np.diff(line, axis=0), axis=1)
    start = np.r_[0.0, np.cumsum(seg_len)] / seg_len.sum()
    for i, (a, b) in enumerate(zip(line[:-1], line[1:])):
        ab = b - a
        t = np.clip(((pts - a) @ ab) / (ab @ ab), 0.0, 1.0)
        d = np.linalg.norm(pts - (a + t[:, None] * ab), axis=1)
        closer = d < best
        best[closer] = d[closer]
        where[closer] = start[i] + t[closer] * (start[i + 1] - start[i])
    return best, where


@dataclass
class AvatarMesh:
    """Compact vertex set (only drawn vertices) with a sparse expression blend."""
    vertex_ids: np.ndarray          # (V,) original ICT vertex index of each compact vertex
    base: np.ndarray                # (V, 6) float32 neutral position + normal
    colors: np.ndarray              # (V, 3) float32 static albedo
    surface_index: np.ndarray       # (Ts*3,) int32 compact indices, always drawn
    mouth_index: np.ndarray         # (Tm*3,) drawn only when the mouth can be open
    deltas: np.ndarray              # (E, V, 6) float32 position + normal deltas
    moves: np.ndarray               # (E,) bool: the expression changes the drawn mesh

    def blend(self, weights: np.ndarray, out: np.ndarray, rows: slice = slice(None)) -> None:
        """out[:] = base + sum of weight * delta over the non-zero weights
        (out: C-contiguous, shaped like base). Dense row-wise axpy: most ICT
        shapes move most vertices a little, and a contiguous multiply-add beats
        gathering scattered rows. BLAS's saxpy does each in one pass over
        memory, where numpy's multiply-then-add takes two and a scratch array
        (0.40 against 0.93 ms a frame here). Its bytes do not depend on how
        OpenBLAS splits the rows between threads, nor on blending a slice of
        rows at a time from a multiple of 32 (tests/test_renderer.py), so saved
        frames re-render bit for bit. rows: blend only these (the renderer
        blends band by band)."""
        if not out.flags.c_contiguous:
            # reshape would hand saxpy a copy, and the sum would be lost
            raise ValueError("blend needs a C-contiguous output array")
        part = out[rows]
        if not part.size:
            return                      # (saxpy refuses empty arrays)
        np.copyto(part, self.base[rows])
        flat = part.reshape(-1)         # a view: saxpy adds into it in place
        for k in np.flatnonzero(weights):
            if self.moves[k]:
                blas.saxpy(self.deltas[k][rows].reshape(-1), flat, a=float(weights[k]))


def simplify_by_cells(tri: np.ndarray, pos: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Merge vertices onto one vertex per grid cell (cell size per vertex; 0 =
    keep the vertex as is); drop the triangles that collapse. Each cell keeps
    its vertex nearest to the cell's centroid."""
    ids = np.unique(tri)
    loose = ids[cell[ids] > 0]
    rep = np.arange(len(pos))
    size = cell[loose][:, None]
    key = np.c_[np.floor(pos[loose] / size).astype(np.int64),
                np.round(size * 1000).astype(np.int64)]          # cells of each size apart
    _, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.ravel()
    n_cells = inv.max() + 1
    centroid = np.zeros((n_cells, 3))
    np.add.at(centroid, inv, pos[loose])
    centroid /= np.bincount(inv, minlength=n_cells)[:, None]
    dist = np.linalg.norm(pos[loose] - centroid[inv], axis=1)
    order = np.lexsort((dist, inv))                    # by cell, nearest first
    firsts = order[np.r_[True, inv[order][1:] != inv[order][:-1]]]
    best = np.empty(n_cells, np.int64)
    best[inv[firsts]] = loose[firsts]
    rep[loose] = best[inv]
    t = rep[tri]
    ok = (t[:, 0] != t[:, 1]) & (t[:, 1] != t[:, 2]) & (t[:, 0] != t[:, 2])
    return t[ok]


def cell_sizes(pos: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """Grid cell per vertex: 0 (full detail) at the eyes and lips, a fine grid
    over the rest of the inner face, a coarse one for scalp, ears and neck."""
    anchors = pos[list(MULTIPIE68)].astype(np.float64)
    cell = np.full(len(pos), PERIPHERY_CELL)
    # the back of the head only ever shows as a silhouette at large head yaw
    cell[pos[:, 2] < BACK_Z] = BACK_CELL
    a, b = PARTS["face"]

    def near(points: np.ndarray, radius: float) -> np.ndarray:
        return ((pos[a:b, None, :] - points[None]) ** 2).sum(2).min(1) < radius ** 2

    cell[a:b][np.abs(pos[a:b, 0]) > EAR_X] = EAR_CELL
    cell[a:b][near(anchors[17:68], FACE_RADIUS)] = FACE_CELL
    cell[a:b][near(anchors[17:68], DETAIL_RADIUS)] = 0.0
    for part in ("eye_socket_left", "eye_socket_right"):
        cell[slice(*PARTS[part])] = 0.0
    # the mouth socket is one dark colour seen through the lips: coarse is fine
    cell[slice(*PARTS["mouth_socket"])] = MOUTH_CELL
    cell[extra] = 0.0
    return cell


def visible_socket_triangles(model: FaceModel, pos: np.ndarray, side: str,
                             eyeball: Eyeball) -> np.ndarray:
    """The eye socket is a cup around the eyeball; its back half is always
    hidden behind the eyeball (whatever the gaze) and the lids."""
    tri = model.tri_v[model.triangles_of("eye_socket_" + PART_SIDE[side])]
    depth = (pos[tri].mean(1) - eyeball.centre) @ eyeball.axis
    return tri[depth > 0.0]


def build_avatar_mesh(model: FaceModel, pos: np.ndarray, appearance: Appearance,
                      lid_rims: list[tuple[np.ndarray, np.ndarray]],
                      eyeballs: dict[str, Eyeball]) -> AvatarMesh:
    """pos: (N,3) neutral of the avatar identity (the ICT mean for the live mask);
    lid_rims: per eye (upper, lower) lid-edge vertex ids, drawn darker."""
    full = np.concatenate(
        [model.tri_v[model.triangles_of(p)] for p in SURFACE_PARTS if "socket" not in p]
        + [visible_socket_triangles(model, pos, s, eyeballs[s]) for s in SIDES])
    cells = cell_sizes(pos, np.concatenate([v for rim in lid_rims for v in rim]))
    surf = simplify_by_cells(full, pos, cells)
    mouth_full = np.concatenate([model.tri_v[model.triangles_of(p)] for p in MOUTH_PARTS])
    mouth = simplify_by_cells(mouth_full, pos, cells)
    ids = np.unique(np.concatenate([surf.ravel(), mouth.ravel()]))
    # llvmpipe shades and bins in index order: neighbours close in the buffers
    # draw ~15% faster than ICT's order, with the same pixels
    cell = np.floor(pos[ids, :2] / LOCALITY_CELL)
    ids = ids[np.lexsort((cell[:, 0], cell[:, 1]))]
    remap = np.full(len(pos), -1, np.int64)
    remap[ids] = np.arange(len(ids))

    # Normals come from the full-resolution surface (smooth, and blind to the
    # merged periphery), restricted to the drawn vertices.
    shade_tri = np.concatenate([full, mouth_full])
    shade_ids = np.unique(shade_tri)
    shade_remap = np.full(len(pos), -1, np.int64)
    shade_remap[shade_ids] = np.arange(len(shade_ids))
    st = shade_remap[shade_tri]
    incidence = sparse.csr_matrix(
        (np.ones(st.size), (st.ravel(), np.repeat(np.arange(len(st)), 3))),
        shape=(len(shade_ids), len(st)))
    drawn = shade_remap[ids]
    ps = pos[shade_ids].astype(np.float64)
    n_full = vertex_normals(ps, st, incidence)
    p0, n0 = ps[drawn], n_full[drawn]
    base = np.concatenate([p0, n0], axis=1).astype(np.float32)
    n_expr = len(model.expression_names)
    deltas = np.zeros((n_expr, len(ids), 6), np.float32)
    for k in range(n_expr):
        dps = model.expression_deltas[k][shade_ids].astype(np.float64)
        if np.abs(dps).max() <= MIN_DELTA_CM:
            continue
        dn = (vertex_normals(ps + dps, st, incidence) - n_full)[drawn]
        deltas[k] = np.concatenate([dps[drawn], dn], 1)
    # ICT shapes carry tiny deltas almost everywhere; one that moves no drawn
    # vertex by 1e-3 cm (~0.01 px) moves nothing on screen and is skipped
    moves = np.abs(deltas[..., :3]).reshape(n_expr, -1).max(1) > MIN_DELTA_CM

    colors = _vertex_colors(model, pos, ids, appearance, lid_rims)
    return AvatarMesh(vertex_ids=ids, base=base, colors=colors,
                      surface_index=_by_first_vertex(remap[surf]),
                      mouth_index=_by_first_vertex(remap[mouth]),
                      deltas=deltas, moves=moves)


def _by_first_vertex(tri: np.ndarray) -> np.ndarray:
    """Triangles in the order of their lowest vertex index, flattened."""
    return tri[np.argsort(tri.min(1), kind="stable")].astype(np.int32).ravel()


def _vertex_colors(model: FaceModel, pos: np.ndarray, ids: np.ndarray,
                   appearance: Appearance, lid_rims: list[tuple[np.ndarray, np.ndarray]]
                   ) -> np.ndarray:
    """Skin everywhere, darker brows, redder lips, sockets and mouth inside, and
    thin dark lid edges (a lash line: the tracker and a viewer find the lid
    margins by it; opaque eyelash geometry would read as a thick black band)."""
    col = np.tile(np.array(appearance.skin_rgb, np.float32), (len(ids), 1))
    p = pos[ids]
    in_face = ids < PARTS["face"][1]
    anchors = pos[list(MULTIPIE68)]
    for brow in (anchors[21:16:-1], anchors[22:27]):          # inner -> outer
        # a brow sits a little above its landmark line, thick at the inner end
        # and tapering outwards, with a soft edge
        line = brow[:, :2] + np.array([0.0, 0.2])
        dist, along = _polyline_distance(p[:, :2], line)
        half = BROW_HALF_WIDTH[0] + (BROW_HALF_WIDTH[1] - BROW_HALF_WIDTH[0]) * along
        w = np.clip((half - dist) / BROW_EDGE + 0.5, 0.0, 1.0)
        w[~in_face | (p[:, 2] < brow[:, 2].min() - 1.0)] = 0.0
        w = w[:, None].astype(np.float32)
        col = col * (1 - w) + np.array(appearance.brow_rgb, np.float32) * w
    # lips: the outer lip contour with a soft edge (signed distance to it)
    outline = anchors[48:60, :2]
    dist, _ = _polyline_distance(p[:, :2], np.vstack([outline, outline[:1]]))
    signed = np.where(_inside_polygon(p[:, :2], outline), dist, -dist)
    w = np.clip(signed / LIP_EDGE + 0.5, 0.0, 1.0)
    w[~in_face | (p[:, 2] < anchors[48:60, 2].min() - 0.8)] = 0.0
    w = w[:, None].astype(np.float32)
    col = col * (1 - w) + np.array(appearance.lip_rgb, np.float32) * w
    for side in SIDES:
        a, b = PARTS["eye_socket_" + PART_SIDE[side]]
        col[(ids >= a) & (ids < b)] = SOCKET_RGB
    a, b = PARTS["mouth_socket"]
    col[(ids >= a) & (ids < b)] = MOUTH_RGB
    col = col.astype(np.float32)
    remap = {v: i for i, v in enumerate(ids.tolist())}
    for upper, lower in lid_rims:
        col[[remap[v] for v in upper.tolist() if v in remap]] = UPPER_RIM_RGB
        col[[remap[v] for v in lower.tolist() if v in remap]] = \
            np.array(appearance.skin_rgb, np.float32) * LOWER_RIM_SHADE
    return col


@dataclass
class EyeMesh:
    """Front caps of both eyeball shells."""
    vertices: np.ndarray            # (V, 3) float32 position
    index: np.ndarray               # (T*3,) int32
    ranges: dict[str, tuple[int, int]]   # side -> (first index, index count)


def build_eye_mesh(model: FaceModel, pos: np.ndarray, eyeballs: dict[str, Eyeball]) -> EyeMesh:
    verts, index, ranges = [], [], {}
    offset = 0
    n_index = 0
    for side in SIDES:
        eb = eyeballs[side]
        tri = model.triangles_of("sclera_" + PART_SIDE[side])
        tv = model.tri_v[tri]
        d = pos[tv].astype(np.float64) - eb.centre
        cosang = (d @ eb.axis) / np.linalg.norm(d, axis=2)
        tv = tv[(cosang > np.cos(np.radians(EYE_CAP_DEG))).all(1)]
        used, inv = np.unique(tv.ravel(), return_inverse=True)
        verts.append(pos[used])
        idx = inv.reshape(-1).astype(np.int32) + offset
        index.append(idx)
        ranges[side] = (n_index, len(idx))
        offset += len(used)
        n_index += len(idx)
    return EyeMesh(vertices=np.concatenate(verts).astype(np.float32),
                   index=np.concatenate(index), ranges=ranges)
