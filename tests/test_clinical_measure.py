"""Clinical measurements on exact synthetic MaskParams streams with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from realtime_mask.clinical import (
    IRIS_RADIUS_MM, ParamsTrack, gaze_traces, measure_deviation, measure_lids,
    measure_nystagmus, prism_dioptres, summarize)
from realtime_mask.params import EyeParams, HeadPose, MaskParams

FPS = 30.0


def stream(n: int = 300, *, right=None, left=None, present=None, head_yaw=None,
           upper=0.75, lower=0.95, closure=None) -> list[MaskParams]:
    """Frames from per-frame arrays; right/left are (yaw, pitch) arrays or None (0)."""
    t = np.arange(n) / FPS
    zeros = np.zeros(n)
    ry, rp = right if right is not None else (zeros, zeros)
    ly, lp = left if left is not None else (zeros, zeros)
    present = np.ones(n, bool) if present is None else present
    closure = zeros if closure is None else closure
    out = []
    for i in range(n):
        if not present[i]:
            out.append(MaskParams.no_face(float(t[i])))
            continue
        up = upper + closure[i] * (-lower - upper)
        out.append(MaskParams(
            timestamp=float(t[i]), face_present=True, confidence=1.0,
            head=HeadPose(yaw_deg=float(head_yaw[i]) if head_yaw is not None else 0.0),
            right_eye=EyeParams(float(ry[i]), float(rp[i]), float(up), lower, float(closure[i])),
            left_eye=EyeParams(float(ly[i]), float(lp[i]), float(up), lower, float(closure[i]))))
    return out


def blink_closure(n: int, starts_s: list[float], length_s: float = 0.25) -> np.ndarray:
    t = np.arange(n) / FPS
    c = np.zeros(n)
    for s in starts_s:
        u = (t - s) / length_s
        inside = (u >= 0) & (u < 1)
        c[inside] = 1.0 - np.abs(2 * u[inside] - 1)  # triangle: closed at the middle
    return np.clip(c * 1.6, 0, 1)


def sinus(n: int, hz: float, p2p: float, phase: float = 0.3) -> np.ndarray:
    return 0.5 * p2p * np.sin(2 * np.pi * hz * np.arange(n) / FPS + phase)


# ---- units and gaze ----------------------------------------------------------------------

def test_prism_dioptres_is_100_tan():
    assert prism_dioptres(45.0) == pytest.approx(100.0)
    assert prism_dioptres(-10.0) == pytest.approx(-17.6327, abs=1e-3)


def test_gaze_traces_are_per_eye_and_blank_when_shut_or_lost():
    n = 120
    present = np.ones(n, bool)
    present[10:20] = False
    closure = blink_closure(n, [2.0])
    frames = stream(n, right=(np.full(n, 5.0), np.full(n, -3.0)),
                    left=(np.full(n, -7.0), np.full(n, 2.0)), present=present, closure=closure)
    g = gaze_traces(ParamsTrack.from_params(frames))
    assert np.all(np.isnan(g.right_yaw[10:20]))
    shut = closure > 0.8
    assert shut.any() and np.all(np.isnan(g.left_pitch[shut]))
    open_ = ~shut & present
    assert np.allclose(g.right_yaw[open_], 5.0) and np.allclose(g.left_yaw[open_], -7.0)
    assert np.allclose(g.right_pitch[open_], -3.0) and np.allclose(g.left_pitch[open_], 2.0)


# ---- deviation ---------------------------------------------------------------------------

@pytest.mark.parametrize("eye,nasal_sign", [("right", 1.0), ("left", -1.0)])
def test_esotropia_of_either_eye_reads_positive(eye, nasal_sign):
    n = 150
    rng = np.random.default_rng(1)
    fix = rng.normal(0, 0.2, n)
    dev = np.full(n, 10.0) * nasal_sign
    right = (fix + (dev if eye == "right" else 0), np.zeros(n))
    left = (fix + (dev if eye == "left" else 0), np.zeros(n))
    d = measure_deviation(ParamsTrack.from_params(stream(n, right=right, left=left)))
    assert d.horizontal_deg == pytest.approx(10.0, abs=0.05)
    assert d.horizontal_name == "eso"
    assert d.horizontal_pd == pytest.approx(17.63, abs=0.1)
    assert d.deviating_eye == eye
    assert d.confidence > 0.8


def test_exotropia_and_hypertropia_signs():
    n = 150
    frames = stream(n, right=(np.full(n, -12.0), np.full(n, 4.0)))
    s = summarize(frames)
    assert s.deviation.horizontal_deg == pytest.approx(-12.0)
    assert s.deviation.vertical_deg == pytest.approx(4.0)
    assert {"exotropia", "hypertropia"} <= s.signs()
    assert any("right eye higher" in f.detail for f in s.findings)
    # the absolute angle carries the spread between faces; the doctor reads it with it
    assert all("between faces" in f.detail for f in s.findings
               if f.sign in ("exotropia", "hypertropia"))
    assert not s.deviation.anchored and "corneal reflexes" not in s.findings[0].detail


@pytest.mark.parametrize("vertical,reported", [(2.2, False), (3.0, True)])
def test_a_vertical_deviation_is_a_hypertropia_from_2_5_degrees(vertical, reported):
    """The vertical bar sits at 2.5 degrees (4.4 prism dioptres, as the
    horizontal one): the vertical read-out spreads 1.95 degrees between faces
    with straight eyes, so 2.2 degrees is no hypertropia; 3 degrees is."""
    n = 150
    s = summarize(stream(n, right=(np.zeros(n), np.full(n, vertical))))
    assert s.deviation.vertical_deg == pytest.approx(vertical)
    assert ("hypertropia" in s.signs()) is reported


def test_deviation_anchored_to_the_corneal_reflexes_quotes_their_spread():
    from realtime_mask.clinical.gaze import ANCHORED_SPREAD_DEG, DEVIATION_SPREAD_DEG

    n = 150
    frames = stream(n, right=(np.full(n, -12.0), np.zeros(n)))
    for i, p in enumerate(frames):
        p.reflex_anchored = i >= n // 3          # anchored in most of the frames
    s = summarize(frames)
    assert s.deviation.anchored
    exo = next(f for f in s.findings if f.sign == "exotropia")
    assert exo.detail.endswith(f"±{ANCHORED_SPREAD_DEG['horizontal']:.0f}° between faces, corneal reflexes")
    assert ANCHORED_SPREAD_DEG["horizontal"] < DEVIATION_SPREAD_DEG["horizontal"]
    for p in frames[: 2 * n // 3]:
        p.reflex_anchored = False                # now in a third only
    assert not summarize(frames).deviation.anchored


def test_mrd1_says_when_it_rests_on_the_lid_margin_in_the_pixels():
    n = 150
    frames = stream(n, right=(np.zeros(n), np.zeros(n)))
    for i, p in enumerate(frames):
        p.left_eye.lid_anchored = i >= n // 3     # anchored in most of the left eye's frames
    s = summarize(frames)
    assert s.lids.left.anchored and not s.lids.right.anchored
    for p in frames[: 2 * n // 3]:
        p.left_eye.lid_anchored = False            # now in a third only
    assert not summarize(frames).lids.left.anchored


def test_deviation_survives_head_turns_and_gaze_changes():
    n = 240
    t = np.arange(n) / FPS
    head = 20 * np.sin(2 * np.pi * t / 4)
    target = np.where((t // 1.0) % 2 == 0, 15.0, -15.0) - head
    frames = stream(n, right=(target, np.zeros(n)), left=(target - 6.0, np.zeros(n)), head_yaw=head)
    d = measure_deviation(ParamsTrack.from_params(frames))
    assert d.horizontal_deg == pytest.approx(6.0, abs=1e-6)


@pytest.mark.parametrize("eso,anchored,reported", [(20.0, True, True), (3.0, True, False),
                                                    (20.0, False, False)])
def test_a_lasting_but_unsteady_deviation_is_reported(eso, anchored, reported):
    """A 20-degree esotropia whose read-out wobbles by a few degrees has a low
    steadiness confidence, yet stays past the 2.5-degree bar in every frame:
    with the deviation anchored to the corneal reflexes, an esotropia. A
    3-degree median with the same wobble is past the bar in only about half
    the frames; and without the reflexes the absolute deviation can be off by
    far more than the wobble: nothing is reported then."""
    n = 240
    rng = np.random.default_rng(11)
    frames = stream(n, right=(eso + rng.normal(0, 4.5, n), np.zeros(n)))
    for p in frames:
        p.reflex_anchored = anchored
    s = summarize(frames)
    assert s.deviation.confidence < 0.3
    assert s.deviation.horizontal_deg == pytest.approx(eso, abs=1.0)
    assert ("esotropia" in s.signs()) is reported


def test_deviation_with_one_eye_occluded_has_no_value_but_keeps_the_other_eye():
    n = 150
    frames = stream(n, right=(np.full(n, 3.0), np.zeros(n)))
    for p in frames:
        p.left_eye = EyeParams(math.nan, math.nan, math.nan, math.nan, math.nan)
    track = ParamsTrack.from_params(frames)
    d = measure_deviation(track)
    assert d.frames == 0 and d.confidence == 0.0 and math.isnan(d.horizontal_deg)
    lids = measure_lids(track)
    assert lids.left.open_frames == 0 and lids.left.confidence == 0.0
    assert lids.right.mrd1_mm == pytest.approx(0.75 * IRIS_RADIUS_MM, abs=0.01)
    s = summarize(track)
    assert not s.signs()
    assert np.isfinite(gaze_traces(track).right_yaw).all()


def test_occluded_eye_through_json_round_trip():
    # A NaN written by a fitter for an occluded eye survives the JSON-lines format.
    frames = stream(60)
    frames[5].left_eye = EyeParams(math.nan, math.nan, math.nan, math.nan, math.nan)
    back = [MaskParams.from_json(p.to_json()) for p in frames]
    track = ParamsTrack.from_params(back)
    assert math.isnan(track.left.yaw[5]) and not math.isnan(track.right.yaw[5])


# ---- lids and blinks ---------------------------------------------------------------------

def test_mrd1_mrd2_in_millimetres_with_unilateral_ptosis():
    n = 200
    frames = stream(n)
    for p in frames:
        p.left_eye.upper_lid = 1.0 / IRIS_RADIUS_MM  # MRD1 1 mm
    s = summarize(frames)
    assert s.lids.left.mrd1_mm == pytest.approx(1.0, abs=1e-3)
    assert s.lids.right.mrd1_mm == pytest.approx(4.3875, abs=1e-3)
    assert s.lids.right.mrd2_mm == pytest.approx(0.95 * 5.85, abs=1e-3)
    assert s.lids.left.fissure_mm == pytest.approx(1.0 + 0.95 * 5.85, abs=1e-3)
    assert [f.detail for f in s.findings if f.sign == "ptosis"] == [
        "left MRD1 1.0 mm (landmarks only, ±1 mm)"]


@pytest.mark.parametrize("higher,hypertropia", [("left", False), ("right", True)])
def test_the_eye_under_a_drooping_lid_reading_higher_is_no_hypertropia(higher, hypertropia):
    """A drooping lid pushes the tracked iris up, so the ptotic eye reading a
    few degrees higher is not reported as a hypertropia (the ptosis finding
    says it was not judged). The other eye higher, the ptotic eye lower, is:
    a hypotropia can make a lid look low."""
    n = 200
    pitch = np.full(n, 3.5)
    frames = stream(n, **{higher: (np.zeros(n), pitch)})
    for p in frames:
        p.left_eye.upper_lid = 1.0 / IRIS_RADIUS_MM  # MRD1 1 mm
    s = summarize(frames)
    assert ("hypertropia" in s.signs()) is hypertropia and "ptosis" in s.signs()
    [ptosis] = [f.detail for f in s.findings if f.sign == "ptosis"]
    assert ("reads 3.5° higher, not judged under the drooping lid" in ptosis) is not hypertropia


def test_lid_retraction_both_eyes():
    s = summarize(stream(150, upper=7.5 / IRIS_RADIUS_MM))
    assert sorted(f.detail for f in s.findings) == [
        "left MRD1 7.5 mm (landmarks only, ±1 mm)", "right MRD1 7.5 mm (landmarks only, ±1 mm)"]
    assert s.signs() == {"lid retraction"}


@pytest.mark.parametrize("mrd1_mm, sign", [(2.0, "ptosis"), (6.5, "lid retraction")])
def test_a_lid_sign_near_its_bar_needs_the_lid_margin_in_the_pixels(mrd1_mm, sign):
    """The landmark read-out alone places the lid within about 1.1 mm: a
    ptosis or retraction just past its bar (2.5 / 6.0 mm) is reported only where
    the MRD1 rests on the lid margin found in the pixels."""
    frames = stream(150, upper=mrd1_mm / IRIS_RADIUS_MM)
    assert summarize(frames).signs() == set()
    for p in frames:
        p.right_eye.lid_anchored = p.left_eye.lid_anchored = True
    s = summarize(frames)
    assert s.signs() == {sign}
    assert all(f.detail.endswith("mm (lid margin)") for f in s.findings)


def test_blinks_are_counted_and_lids_measured_between_them():
    n = 600  # 20 s
    starts = [1.0, 4.5, 7.2, 11.0, 15.3, 18.0]
    s = summarize(stream(n, closure=blink_closure(n, starts)))
    assert len(s.lids.blinks) == len(starts)
    for b, start in zip(s.lids.blinks, starts):
        assert start <= b.start <= start + 0.25 and b.duration < 0.3
    assert s.lids.blink_rate_per_min == pytest.approx(60 * 6 / 20.0, rel=0.01)
    assert s.lids.right.mrd1_mm == pytest.approx(0.75 * IRIS_RADIUS_MM, abs=1e-6)
    assert not s.signs()


def test_ptotic_eye_is_not_read_as_closed_and_long_closure_is_not_a_blink():
    n = 300
    closure = np.zeros(n)
    closure[100:160] = 1.0  # eyes shut for 2 s
    frames = stream(n, closure=closure)
    for p in frames:
        if p.right_eye.blink == 0:
            p.right_eye.upper_lid = 0.1  # MRD1 0.6 mm, narrow but open
    lids = measure_lids(ParamsTrack.from_params(frames))
    assert lids.blinks == []
    assert len(lids.long_closures) == 1 and lids.long_closures[0].duration == pytest.approx(2.0)
    assert lids.right.mrd1_mm == pytest.approx(0.585, abs=1e-3)


def test_wink_is_not_a_blink():
    n = 150
    frames = stream(n)
    for p in frames[40:47]:
        p.left_eye.upper_lid = -p.left_eye.lower_lid
    assert measure_lids(ParamsTrack.from_params(frames)).blinks == []


# ---- nystagmus ---------------------------------------------------------------------------

@pytest.mark.parametrize("hz,p2p,axis", [(2.0, 3.0, "yaw"), (4.0, 2.0, "yaw"), (3.0, 3.0, "pitch"),
                                         (1.5, 5.0, "yaw"), (6.0, 1.5, "pitch")])
def test_pendular_nystagmus_frequency_amplitude_direction(hz, p2p, axis):
    n = 300
    wave = sinus(n, hz, p2p)
    noise = np.random.default_rng(0).normal(0, 0.15, (2, n))
    pair = (wave + noise[0], noise[1]) if axis == "yaw" else (noise[0], wave + noise[1])
    ny = measure_nystagmus(ParamsTrack.from_params(stream(n, right=pair, left=pair)))
    assert ny.present
    assert ny.frequency_hz == pytest.approx(hz, abs=0.05)
    assert ny.amplitude_deg == pytest.approx(p2p, rel=0.1)
    assert ny.direction == ("horizontal" if axis == "yaw" else "vertical")
    assert ny.waveform == "pendular"


@pytest.mark.parametrize("hz,present", [(1.2, False), (1.7, False), (2.5, True)])
def test_a_short_clip_needs_several_beats(hz, present):
    """2.5 s of video (75 frames, as the GRID clips): a slow swing fits in
    only a few periods there (a gaze shifted to and fro) and is not called a
    nystagmus; 2.5 Hz gives six beats and is. (Longer clips keep the 1 Hz
    floor: five beats of it take 5 s.)"""
    n = 75
    wave = sinus(n, hz, 3.0)
    noise = np.random.default_rng(3).normal(0, 0.1, (4, n))
    ny = measure_nystagmus(ParamsTrack.from_params(
        stream(n, right=(wave + noise[0], noise[1]), left=(wave + noise[2], noise[3]))))
    assert ny.present == present
    spectrum = ny.per_eye["right"]["yaw"]
    assert spectrum.frequency_hz == pytest.approx(hz, abs=0.15)
    assert spectrum.seen_s == pytest.approx(2.5, abs=0.05)


def jerk_wave(n: int, hz: float, p2p: float, fast: str = "right") -> np.ndarray:
    """A horizontal jerk nystagmus: a slow drift over 85 % of each period, a
    fast phase back (right = towards -yaw)."""
    phase = (hz * np.arange(n) / FPS) % 1.0
    saw = np.where(phase < 0.85, phase / 0.85, (1 - phase) / 0.15) - 0.5  # fast fall
    return p2p * saw * (1 if fast == "right" else -1)


@pytest.mark.parametrize("p2p", [4.0, 8.0])
@pytest.mark.parametrize("fast", ["right", "left"])
def test_jerk_nystagmus_fast_phase(fast, p2p):
    """Waveform, fast phase and size. The 8-degree one's fast phases are gaze
    shifts by size, but the slow phase takes the eye back each beat, so the
    gaze holds its place: no refixations, and its size is read with the fast
    phases in the trace (taken out with the gaze shifts, it read 1.9 degrees)."""
    n = 300
    hz = 3.0
    yaw = jerk_wave(n, hz, p2p, fast)
    ny = measure_nystagmus(ParamsTrack.from_params(stream(n, right=(yaw, np.zeros(n)),
                                                          left=(yaw, np.zeros(n)))))
    assert ny.present and ny.waveform == "jerk" and ny.fast_phase == fast
    assert ny.frequency_hz == pytest.approx(hz, abs=0.05)
    assert ny.amplitude_deg == pytest.approx(p2p, rel=0.15)


def test_nystagmus_through_blinks_and_a_lost_face_span():
    n = 360
    wave = sinus(n, 2.5, 3.0)
    present = np.ones(n, bool)
    present[150:200] = False  # face lost for 1.7 s
    closure = blink_closure(n, [1.0, 3.3, 8.0, 10.5])
    frames = stream(n, right=(wave, np.zeros(n)), left=(wave, np.zeros(n)),
                    present=present, closure=closure)
    s = summarize(frames)
    assert s.nystagmus.present
    assert s.nystagmus.frequency_hz == pytest.approx(2.5, abs=0.1)
    assert s.nystagmus.amplitude_deg == pytest.approx(3.0, rel=0.2)
    assert len(s.lids.blinks) == 4
    assert s.face_frames == n - 50
    assert s.signs() == {"nystagmus"}


def test_nystagmus_in_one_eye_only_with_the_other_occluded():
    n = 300
    wave = sinus(n, 3.0, 2.5)
    frames = stream(n, right=(wave, np.zeros(n)))
    for p in frames:
        p.left_eye = EyeParams(math.nan, math.nan, math.nan, math.nan, math.nan)
    ny = measure_nystagmus(ParamsTrack.from_params(frames))
    assert ny.present and ny.frequency_hz == pytest.approx(3.0, abs=0.05)
    assert ny.per_eye["left"]["yaw"].windows == 0


def test_no_nystagmus_in_fixation_noise_gaze_shifts_and_head_turns():
    n = 450
    rng = np.random.default_rng(7)
    t = np.arange(n) / FPS
    head = 15 * np.sin(2 * np.pi * t / 4)
    targets = np.array([0, 15, 15, 0, -15, -15, -15, 0, 15])[((t // 0.9) % 9).astype(int)]
    yaw = targets - head + rng.normal(0, 0.3, n)
    pitch = rng.normal(0, 0.3, n)
    s = summarize(stream(n, right=(yaw, pitch), left=(yaw + rng.normal(0, 0.3, n), pitch),
                         head_yaw=head, closure=blink_closure(n, [2.0, 6.0, 11.0])))
    assert not s.nystagmus.present
    assert s.signs() == set()


def test_gaze_shifts_spread_over_frames_are_not_nystagmus():
    """The read-out spreads a gaze shift over 2-3 frames (steps of 4-5 degrees,
    each under the 6-degree step): looking from one position to the next every
    0.9 s must not read as a 1 Hz nystagmus, while a 4 Hz, 2-degree nystagmus
    over the same shifts is still found at its size."""
    n = 450
    rng = np.random.default_rng(3)
    targets = np.array([0, 15, 15, 0, -15, -15, -15, 0, 15])[((np.arange(n) / FPS // 0.9)
                                                                % 9).astype(int)]
    ramp = np.convolve(targets, np.ones(3) / 3, mode="same")     # 3-frame shifts
    pitch = rng.normal(0, 0.2, n)
    still = summarize(stream(n, right=(ramp + rng.normal(0, 0.2, n), pitch),
                             left=(ramp + rng.normal(0, 0.2, n), pitch)))
    assert not still.nystagmus.present
    beating = ramp + sinus(n, 4.0, 2.0)
    nyst = measure_nystagmus(ParamsTrack.from_params(stream(n, right=(beating, pitch),
                                                            left=(beating, pitch))))
    assert nyst.present and nyst.frequency_hz == pytest.approx(4.0, abs=0.1)
    assert nyst.amplitude_deg == pytest.approx(2.0, rel=0.2)


def looking_around(n: int, every_s: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Both eyes moving to a new gaze position every `every_s` (yaw, pitch)."""
    cycle = np.array([(0, 0), (15, 0), (15, 12), (0, 12), (-15, 12), (-15, 0), (-15, -12),
                      (0, -12), (15, -12)], np.float64)
    pos = cycle[((np.arange(n) / FPS // every_s) % len(cycle)).astype(int)]
    return pos[:, 0], pos[:, 1]


@pytest.mark.parametrize("hz,present", [(1.3, False), (4.0, True)])
def test_a_beat_as_slow_as_the_refixations_is_not_nystagmus(hz, present):
    """The same coherent beat in both eyes over a gaze that moves every 0.9 s:
    at 1.3 Hz it fits 1.2 times into a fixation and cannot be told from the
    refixations (the re-tracked nine-gaze control's false "nystagmus"); at 4 Hz
    it beats 3.6 times per fixation and is nystagmus. Held still, the 1.3 Hz
    beat is nystagmus too."""
    n = 300
    rng = np.random.default_rng(5)
    yaw, pitch = looking_around(n)
    beat = sinus(n, hz, 2.0)
    eyes = [(yaw + beat + rng.normal(0, 0.2, n), pitch + rng.normal(0, 0.2, n)) for _ in range(2)]
    track = ParamsTrack.from_params(stream(n, right=eyes[0], left=eyes[1]))
    ny = measure_nystagmus(track)
    assert ny.per_eye["right"]["yaw"].detected and ny.per_eye["left"]["yaw"].detected
    assert ny.present is present and ny.between_refixations is not present
    if not present:
        from realtime_mask.clinical.report import render_report
        assert "fewer than two beats per fixation" in render_report(track)
        still = [(beat + rng.normal(0, 0.2, n), rng.normal(0, 0.2, n)) for _ in range(2)]
        held = measure_nystagmus(ParamsTrack.from_params(stream(n, right=still[0], left=still[1])))
        assert held.present and held.frequency_hz == pytest.approx(hz, abs=0.1)


def test_one_eye_jumping_alone_does_not_cut_the_fixations():
    """FaceMesh losing one eye's iris jumps that eye alone; a refixation moves
    both. A 2 Hz nystagmus whose right eye alone sits 8 degrees off every other
    half second is still nystagmus; the same jumps in both eyes are the gaze
    moving to and fro every 0.5 s: the 2 Hz beat fits once into each fixation."""
    n = 300
    beat = sinus(n, 2.0, 3.0)
    jumps = 8.0 * ((np.arange(n) // 15) % 2)
    zeros = np.zeros(n)
    one = measure_nystagmus(ParamsTrack.from_params(stream(n, right=(beat + jumps, zeros),
                                                           left=(beat, zeros))))
    assert one.present and one.frequency_hz == pytest.approx(2.0, abs=0.1)
    both = measure_nystagmus(ParamsTrack.from_params(stream(n, right=(beat + jumps, zeros),
                                                            left=(beat + jumps, zeros))))
    assert not both.present and both.between_refixations


def test_a_few_shared_jumps_do_not_change_a_pendular_beat():
    """Both eyes jumping 8 degrees and back twice in 10 s (tracking) are no
    fast phases: a 3 Hz, 3-degree pendular nystagmus keeps its size and shape."""
    n = 300
    beat = sinus(n, 3.0, 3.0)
    for start in (100, 220):
        beat[start:start + 2] += 8.0
    zeros = np.zeros(n)
    ny = measure_nystagmus(ParamsTrack.from_params(stream(n, right=(beat, zeros),
                                                          left=(beat, zeros))))
    assert ny.present and ny.waveform == "pendular"
    assert ny.amplitude_deg == pytest.approx(3.0, rel=0.15)


@pytest.mark.parametrize("head_share,coupled", [(1.0, True), (0.4, True), (0.1, False)])
def test_eye_oscillation_in_step_with_the_head_is_not_nystagmus(head_share, coupled):
    """Eyes counter-rotating against a nodding head (or head pose leaking into
    the gaze read-out) oscillate at the head's frequency: not nystagmus. A
    trace of head cross-talk a tenth the size leaves a real nystagmus standing."""
    n = 300
    wave = sinus(n, 1.5, 3.0)
    noise = np.random.default_rng(3).normal(0, 0.1, (2, n))
    frames = stream(n, right=(wave + noise[0], np.zeros(n)), left=(wave + noise[1], np.zeros(n)),
                    head_yaw=-head_share * wave)
    ny = measure_nystagmus(ParamsTrack.from_params(frames))
    assert ny.head_coupled is coupled
    assert ny.present is (not coupled)
    if not coupled:
        assert ny.frequency_hz == pytest.approx(1.5, abs=0.05)


@pytest.mark.parametrize("hz,coupled", [(1.5, True), (2.0, False), (4.0, False)])
def test_fast_swing_that_drags_the_head_pose_is_still_nystagmus(hz, coupled):
    """FaceMesh carries the face a little with the eyes: a head pose following
    the eye at 0.22 of its swing. At nod speed that counts as head coupling;
    at 2 and 4 Hz (re-tracked avatars of the 2 and 4 Hz patients) it is the
    nystagmus."""
    n = 300
    wave = sinus(n, hz, 2.0)
    noise = np.random.default_rng(4).normal(0, 0.1, (2, n))
    frames = stream(n, right=(wave + noise[0], np.zeros(n)), left=(wave + noise[1], np.zeros(n)),
                    head_yaw=-0.22 * wave)
    ny = measure_nystagmus(ParamsTrack.from_params(frames))
    assert ny.head_coupled is coupled
    assert ny.present is (not coupled)


def test_short_and_empty_streams_do_not_crash():
    s = summarize([])
    assert s.frames == 0 and s.signs() == set()
    s = summarize(stream(10))
    assert not s.nystagmus.present
    s = summarize([MaskParams.no_face(i / FPS) for i in range(60)])
    assert s.face_frames == 0 and s.signs() == set() and s.lids.blinks == []


def test_summary_dict_is_json_ready():
    import json
    d = summarize(stream(100)).to_dict()
    text = json.dumps(d, allow_nan=False)
    assert '"findings": []' in text


def test_oscillation_in_one_eye_while_the_other_is_seen_steady_is_not_nystagmus():
    # Fitting noise can ring in one eye; a real nystagmus beats in both.
    n = 300
    wave = sinus(n, 2.0, 2.0)
    ny = measure_nystagmus(ParamsTrack.from_params(stream(n, right=(wave, np.zeros(n)))))
    assert ny.per_eye["right"]["yaw"].detected and not ny.present


def bursts(n: int, hz: float, p2p: float, seed: int, every_s: float = 0.9) -> np.ndarray:
    """An oscillation whose phase jumps at random every `every_s`: what tracking
    jitter that comes back with each round of gaze positions looks like."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FPS
    phase = rng.uniform(0, 2 * np.pi, int(t[-1] // every_s) + 1)[(t // every_s).astype(int)]
    return 0.5 * p2p * np.sin(2 * np.pi * hz * t + phase)


def test_incoherent_oscillations_of_the_two_eyes_are_not_nystagmus():
    """Each eye rings at 1.4 Hz, but not together: read-out noise, not nystagmus.
    The same oscillation in both eyes, or in opposite phase (see-saw), is."""
    n = 240
    right, left = bursts(n, 1.4, 2.5, seed=1), bursts(n, 1.4, 2.5, seed=2)
    zeros = np.zeros(n)
    incoherent = ParamsTrack.from_params(stream(n, right=(right, zeros), left=(left, zeros)))
    ny = measure_nystagmus(incoherent)
    assert ny.per_eye["right"]["yaw"].detected and ny.per_eye["left"]["yaw"].detected
    assert not ny.present and ny.eyes_incoherent
    together = measure_nystagmus(ParamsTrack.from_params(stream(n, right=(right, zeros),
                                                                left=(right, zeros))))
    assert together.present and not together.eyes_incoherent
    see_saw = measure_nystagmus(ParamsTrack.from_params(stream(n, right=(zeros, right),
                                                               left=(zeros, -right))))
    assert see_saw.present and see_saw.direction == "vertical"
    from realtime_mask.clinical.report import render_report
    assert "did not move together" in render_report(incoherent)


@pytest.mark.parametrize("n", [200, 215, 235, 239, 260])
def test_coherence_is_judged_at_every_length_of_two_windows(n):
    """Clips of 4-8 s (a blink or two short of 8 s, say) are long enough for
    two 2-4 s windows whatever their frame count; one frame's rounding used
    to skip the check, and the two eyes' unrelated ringing read as nystagmus."""
    zeros = np.zeros(n)
    right, left = bursts(n, 1.4, 2.5, seed=1), bursts(n, 1.4, 2.5, seed=2)
    ny = measure_nystagmus(ParamsTrack.from_params(stream(n, right=(right, zeros),
                                                          left=(left, zeros))))
    assert not ny.present and ny.eyes_incoherent


def test_lid_lag_is_mrd1_rising_in_downgaze():
    n = 300
    t = np.arange(n) / FPS
    pitch = np.where((t // 1.0) % 2 == 0, 0.0, -15.0)
    lagging = stream(n, right=(np.zeros(n), pitch), left=(np.zeros(n), pitch))
    following = stream(n, right=(np.zeros(n), pitch), left=(np.zeros(n), pitch))
    for p in lagging:
        if p.right_eye.pitch_deg < 0:  # the lid stays up: 12 mm * sin(15 deg) = 3.1 mm more MRD1
            for eye in (p.right_eye, p.left_eye):
                eye.upper_lid += 12 * np.sin(np.radians(15)) / IRIS_RADIUS_MM
    lag = summarize(lagging)
    assert lag.lids.right.downgaze_mrd1_change_mm == pytest.approx(3.106, abs=0.01)
    assert lag.lids.right.mrd1_mm == pytest.approx(4.3875, abs=1e-3)  # measured in primary gaze
    assert lag.signs() == {"lid lag"}
    normal = summarize(following)
    assert normal.lids.left.downgaze_mrd1_change_mm == pytest.approx(0.0, abs=1e-6)
    assert normal.signs() == set()
    assert math.isnan(summarize(stream(100)).lids.right.downgaze_mrd1_change_mm)


@pytest.mark.parametrize("down_s,lag", [(0.25, False), (0.6, True)])
def test_lid_lag_needs_a_downgaze_held_for_half_a_second(down_s, lag):
    """A quarter second where the read-out's pitch dips below the downgaze bar
    (read-out noise: re-tracked avatars of patients looking straight ahead
    read 5-8 such frames, with the lid reading high in them) is no downgaze
    to judge a lid lag from; the same lid held over 0.6 s of downgaze is."""
    n = 300
    pitch = np.zeros(n)
    pitch[150:150 + round(down_s * FPS)] = -12.0
    frames = stream(n, right=(np.zeros(n), pitch), left=(np.zeros(n), pitch))
    for p in frames:
        if p.right_eye.pitch_deg < 0:
            for eye in (p.right_eye, p.left_eye):
                eye.upper_lid += 3.0 / IRIS_RADIUS_MM
    s = summarize(frames)
    assert math.isnan(s.lids.right.downgaze_mrd1_change_mm) is not lag
    assert ("lid lag" in s.signs()) is lag


def test_deviation_by_gaze_position_shows_an_incomitant_deviation():
    # A right lateral rectus weakness: esotropia that grows when looking to the
    # patient's right (-yaw) and vanishes looking left. The left eye fixes.
    from realtime_mask.clinical import deviation_by_position
    n = 270
    t = np.arange(n) / FPS
    target = np.array([-15.0, 0.0, 15.0])[((t // 3.0) % 3).astype(int)]
    extra = np.interp(target, [-15, 0, 15], [20.0, 8.0, 0.5])
    frames = stream(n, right=(target + extra, np.zeros(n)), left=(target, np.zeros(n)))
    found = {p.position: p for p in deviation_by_position(ParamsTrack.from_params(frames))}
    assert set(found) == {"right", "primary", "left"}
    assert found["right"].horizontal_deg == pytest.approx(20.0)
    assert found["primary"].horizontal_deg == pytest.approx(8.0)
    assert found["left"].horizontal_deg == pytest.approx(0.5)
    assert found["primary"].frames == 90


def test_blink_with_one_eye_closing_only_part_way_is_counted():
    # Trackers often see one eye of a blink close fully and the other to about half.
    n = 150
    closure = blink_closure(n, [1.0, 3.0])
    frames = stream(n, closure=closure)
    for p in frames:
        c = p.left_eye.blink
        p.left_eye.upper_lid = 0.75 - c * 0.45 * (0.75 + 0.95)  # fissure down to 55%
    lids = measure_lids(ParamsTrack.from_params(frames))
    assert len(lids.blinks) == 2
