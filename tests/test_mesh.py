"""The drawn avatar mesh: thinned away from the eyes without holes, and still
made of ICT vertices (so the blendshapes apply)."""

from __future__ import annotations

import numpy as np

from realtime_mask.render import mesh as M
from realtime_mask.render.eye_model import SIDES, build_eye_lids


def _edges(tri: np.ndarray) -> dict[tuple[int, int], int]:
    e = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    keys, counts = np.unique(e, axis=0, return_counts=True)
    return {tuple(k): int(c) for k, c in zip(keys.tolist(), counts)}


def _grid_surface(face_model):
    pos = face_model.neutral.astype(np.float32)
    lids = build_eye_lids(pos, face_model.tri_v[face_model.triangles_of("face")],
                          face_model.expression_deltas, face_model.expression_names)
    eyeballs = {s: lids[s].eyeball for s in SIDES}
    full = np.concatenate(
        [face_model.tri_v[face_model.triangles_of(p)] for p in ("face", "head_neck")]
        + [M.visible_socket_triangles(face_model, pos, s, eyeballs[s]) for s in SIDES])
    rims = np.concatenate([v for s in SIDES for v in (lids[s].upper_rim, lids[s].lower_rim)])
    cells = M.cell_sizes(pos, rims)
    return pos, eyeballs, cells, M.simplify_by_cells(full, pos, cells)


def test_quadric_thinning_keeps_the_rest_and_opens_no_holes(face_model):
    pos, eyeballs, cells, grid = _grid_surface(face_model)
    near_eye = np.zeros(len(pos), bool)
    for eb in eyeballs.values():
        near_eye |= np.linalg.norm(pos - eb.centre, axis=1) <= M.EYE_CLEAR_CM
    loose = (cells > 0) & ~near_eye
    thin = M.simplify_by_quadrics(grid, pos, loose, M.QUADRIC_KEEP)

    # far fewer triangles where it may thin, none touched elsewhere
    movable = loose[grid].all(1)
    assert len(thin) < len(grid) - 0.4 * movable.sum()
    fixed = {tuple(t) for t in np.sort(grid[~movable], axis=1).tolist()}
    assert fixed <= {tuple(t) for t in np.sort(thin, axis=1).tolist()}
    # every vertex is one of the grid mesh's ICT vertices, no triangle repeats one
    assert set(np.unique(thin)) <= set(np.unique(grid))
    assert (thin[:, 0] != thin[:, 1]).all() and (thin[:, 1] != thin[:, 2]).all() \
        and (thin[:, 0] != thin[:, 2]).all()
    # the open edges (neck, sockets) are the grid mesh's: no hole was torn
    open_before = {e for e, c in _edges(grid).items() if c == 1}
    open_after = {e for e, c in _edges(thin).items() if c == 1}
    assert open_after == open_before


def test_the_drawn_mesh_thins_only_plain_skin_away_from_the_eyes(face_model):
    from realtime_mask.render.avatars import avatar_renderer

    r = avatar_renderer(face_model, 0)
    try:
        drawn = r.mesh.vertex_ids[r.mesh.surface_index.reshape(-1, 3)]
        pos, eyeballs, _, grid = _grid_surface(face_model)
        assert len(drawn) < 0.8 * len(grid)
        # around the eyes the drawn triangles are the grid mesh's
        near = np.zeros(len(grid), bool)
        for eb in eyeballs.values():
            near |= np.linalg.norm(pos[grid] - eb.centre, axis=2).max(1) <= M.EYE_CLEAR_CM
        assert near.sum() > 2000
        kept = {tuple(t) for t in np.sort(drawn, axis=1).tolist()}
        assert {tuple(t) for t in np.sort(grid[near], axis=1).tolist()} <= kept
    finally:
        r.close()
