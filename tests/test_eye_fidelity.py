"""Identity-free eye fidelity on a real clip: the avatar reproduces where each iris
sits between the corners, the lid aperture, and the blinks (re-tracked output vs input).

Thresholds here guard against regressions; the acceptance numbers (target 0.02)
come from benchmarks/eye_fidelity.py on three clips.
"""

from __future__ import annotations

import numpy as np
import pytest

from realtime_mask.avatar_pool import load_avatar_pool
from realtime_mask.eye_fidelity import EyeTrace, blink_events, compare, measure_clip
from realtime_mask.media import read_video


@pytest.mark.parametrize("avatar", ["shared", "pool"])
def test_gaze_shifts_and_blink_survive_the_mask(videos_dir, face_model, avatar):
    if avatar == "pool":  # a fixed session avatar, for a reproducible test
        avatar = load_avatar_pool(face_model)[-1]
    inp, out, n = measure_clip(read_video(videos_dir / "liveportrait_d0.mp4"), avatar=avatar)
    result = compare(inp, out)
    assert result["frames_compared"] >= 0.9 * n
    for side in ("left", "right"):
        # 0.022-0.025 while the gaze was read against the eye corners; 0.023-0.039
        # since it is read against a head-fixed eyeball centre (eyes.py), which
        # keeps small fast eye movements that the corner read-out cancelled
        assert result["mae"][f"{side}.h"] <= 0.05, result
        assert result["mae"][f"{side}.aperture"] <= 0.1, result
        # the gaze shifts of this clip are followed, not just the mean position
        a, b = inp.values[f"{side}.h"], out.values[f"{side}.h"]
        ok = ~np.isnan(a) & ~np.isnan(b)
        assert np.corrcoef(a[ok], b[ok])[0, 1] > 0.9
    if avatar == "shared":  # blinks on pool avatars: benchmarks/eye_fidelity.py reports them
        assert result["blink_recall"] == 1.0, result


def test_a_session_avatars_shut_eyes_are_seen_shut(videos_dir, face_model):
    """Avatar 1003's shut eyes showed only a faint broken seam, and FaceMesh
    read them 0.14-0.26 of the eye's width open in the video, as open as a
    narrowed eye: both blinks of this clip went missing from its re-tracked
    output. A shut eye now shows its lash line along the closure."""
    inp, out, n = measure_clip(read_video(videos_dir / "liveportrait_d0.mp4"), avatar=1003)
    result = compare(inp, out)
    assert sum(b["input"] for b in result["blinks"].values()) == 2, result
    assert result["blink_recall"] == 1.0, result


def test_blink_events_and_comparison_on_exact_traces():
    n = 60
    ap = np.full(n, 0.3)
    ap[10:14] = 0.02
    ap[40:43] = 0.05
    assert blink_events(ap) == [(10, 14), (40, 43)]
    rows = [{s: {"h": 0.5, "v": 0.5, "aperture": a} for s in ("left", "right")} for a in ap]
    shifted = [{s: {"h": 0.53, "v": 0.5, "aperture": a} for s in ("left", "right")}
               for a in np.roll(ap, 1)]
    shifted[5] = None  # a frame where the output was not tracked is skipped
    result = compare(EyeTrace.from_measures(rows), EyeTrace.from_measures(shifted))
    assert result["blink_recall"] == 1.0
    assert abs(result["mae"]["left.h"] - 0.03) < 1e-9
    missing = [{s: {"h": 0.5, "v": 0.5, "aperture": 0.3} for s in ("left", "right")}] * n
    assert compare(EyeTrace.from_measures(rows), EyeTrace.from_measures(missing))["blink_recall"] == 0.0


def test_iris_position_is_compared_only_where_the_eye_is_open():
    """A squinting stretch (a fifth of the open aperture, not a blink by the
    median rule when the squint is long) has a meaningless iris position: it is
    left out of the h/v errors, and the aperture error still counts it."""
    n = 100
    ap = np.full(n, 0.3)
    ap[20:80] = 0.06                                   # most of the clip squinting
    rows = [{s: {"h": 0.5, "v": 0.5, "aperture": a} for s in ("left", "right")} for a in ap]
    out = [{s: {"h": 0.5, "v": 0.5 if a > 0.1 else 4.0, "aperture": a + 0.01}
            for s in ("left", "right")} for a in ap]
    result = compare(EyeTrace.from_measures(rows), EyeTrace.from_measures(out))
    assert result["mae"]["left.v"] == 0.0
    assert abs(result["mae"]["left.aperture"] - 0.01) < 1e-9
    # an open eye's position errors are still counted
    out[5] = {s: {"h": 0.6, "v": 0.5, "aperture": 0.31} for s in ("left", "right")}
    result = compare(EyeTrace.from_measures(rows), EyeTrace.from_measures(out))
    assert result["mae"]["left.h"] > 0.0
    # an output eye shut where the input's is open: its position (a ratio over
    # a vanishing gap) is left out, its aperture error is counted
    out = [{s: {"h": 0.5, "v": 0.5, "aperture": 0.3} for s in ("left", "right")}] * n
    out[90] = {s: {"h": 0.5, "v": 25.0, "aperture": 0.001} for s in ("left", "right")}
    result = compare(EyeTrace.from_measures(rows), EyeTrace.from_measures(out))
    assert result["mae"]["left.v"] == 0.0
    assert result["mae"]["left.aperture"] > 0.0
