"""Scoring measurements against a synthetic patient's truth (used by benchmarks/fidelity.py)."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_mask.clinical import Blink, ParamsTrack, summarize
from realtime_mask.synth import PatientScript, script_patient
from realtime_mask.synth.score import blink_match, score


def test_blink_match_recall_and_precision():
    truth = [(1.0, 1.27), (4.0, 4.27), (7.0, 7.27)]
    found = [Blink(1.05, 1.2), Blink(4.3, 4.4), Blink(9.0, 9.2)]
    m = blink_match(truth, found)
    assert m["recall"] == pytest.approx(2 / 3, abs=1e-3)
    assert m["precision"] == pytest.approx(2 / 3, abs=1e-3)
    assert blink_match([], [])["recall"] is None


def test_score_of_the_truth_itself_is_exact():
    p = script_patient(PatientScript(sign="exotropia", deviation_deg=8.0, duration_s=10))
    track = ParamsTrack.from_params(p.frames)
    s = score(p, track, summarize(track))
    assert s["signs_correct"] and s["signs_reported"] == ["exotropia"]
    assert s["deviation"]["error_deg"] < 0.05 and s["deviation"]["frame_median_error_deg"] < 0.2
    assert s["blinks"]["recall"] == 1.0 and s["blinks"]["precision"] == 1.0
    assert s["mrd1"]["left"]["error_mm"] < 1e-3


def test_score_catches_a_wrong_measurement():
    p = script_patient(PatientScript(sign="esotropia", deviation_deg=10.0, duration_s=6))
    shifted = [f.rounded() for f in p.frames]
    for f in shifted:
        f.right_eye.yaw_deg -= 4.0   # a biased tracker
        f.left_eye.upper_lid -= 0.2  # and a lid 1.2 mm too low
    track = ParamsTrack.from_params(shifted)
    s = score(p, track, summarize(track))
    assert s["deviation"]["error_deg"] == pytest.approx(4.0, abs=0.05)
    assert s["mrd1"]["left"]["error_mm"] == pytest.approx(1.17, abs=0.01)


def test_tracking_errors_report_bias_and_gain_per_eye_and_for_the_head():
    from realtime_mask.synth.score import tracking_errors
    p = script_patient(PatientScript(sign="nystagmus", nystagmus_amplitude_deg=6.0, duration_s=4,
                                     fixation_noise_deg=0.0))
    measured = [f.rounded() for f in p.frames]
    for f in measured:
        f.right_eye.yaw_deg = 0.5 * f.right_eye.yaw_deg - 7.0  # half gain, 7 degrees off
        f.left_eye.upper_lid += 0.1
        f.head.pitch_deg += 5.0                                # the chin read 5 degrees up
    e = tracking_errors(p, ParamsTrack.from_params(measured))
    assert e["head_pitch"]["bias"] == pytest.approx(5.0, abs=1e-3)
    assert e["head_yaw"]["bias"] == pytest.approx(0.0, abs=1e-3)
    assert e["right_yaw"]["gain"] == pytest.approx(0.5, abs=0.01)
    assert e["right_yaw"]["bias"] == pytest.approx(-7.0, abs=0.8)
    assert e["left_yaw"]["gain"] == pytest.approx(1.0, abs=0.01)
    assert e["left_upper"]["bias"] == pytest.approx(0.585, abs=0.01)
    assert e["right_pitch"]["bias"] == pytest.approx(0.0, abs=1e-3) and "gain" not in e["right_pitch"]


@pytest.mark.parametrize("sign,eye,refix", [("esotropia", "right", (-10.0, 0.0)),
                                            ("exotropia", "left", (-10.0, 0.0)),
                                            ("hypertropia", "right", (0.0, -10.0))])
def test_cover_test_script_and_score(sign, eye, refix):
    """Covering the fixing eye makes the deviating eye take up fixation; both eyes
    move together (the covered one turns away), and back after uncovering."""
    p = script_patient(PatientScript(sign=sign, deviation_deg=10.0, deviating_eye=eye,
                                     cover_test=True, duration_s=6, fixation_noise_deg=0.0,
                                     blinks=False))
    fixing = "left" if eye == "right" else "right"
    c = p.truth["cover_test"]
    assert c["covered_eye"] == fixing and (c["start_s"], c["end_s"]) == (3.0, 5.0)
    for f in p.frames:
        under = 3.0 <= f.timestamp < 5.0
        assert getattr(f, f"{fixing}_eye").covered == under
        assert not getattr(f, f"{eye}_eye").covered
    before, during = p.frames[60], p.frames[120]
    dev, fix = f"{eye}_eye", f"{fixing}_eye"
    for attr, r in zip(("yaw_deg", "pitch_deg"), refix):
        moved = getattr(getattr(during, dev), attr) - getattr(getattr(before, dev), attr)
        assert moved == pytest.approx(r)
        # the covered eye moves with it
        assert getattr(getattr(during, fix), attr) - getattr(getattr(before, fix), attr) == pytest.approx(r)
    track = ParamsTrack.from_params(p.frames)
    s = score(p, track, summarize(track))
    assert s["cover_test"]["cover_found"] == 1.0
    assert s["cover_test"]["refixation_error_deg"] < 0.05
    assert p.truth["expected_signs"] == ["hypertropia" if sign == "hypertropia" else sign]


def test_a_cover_test_needs_a_squint_and_room():
    with pytest.raises(ValueError, match="strabismus"):
        script_patient(PatientScript(sign="nystagmus", cover_test=True))
    with pytest.raises(ValueError, match="before the clip"):
        script_patient(PatientScript(sign="esotropia", cover_test=True, duration_s=4.0))


def test_expression_error_measures_spurious_weights_on_face_frames_only():
    from realtime_mask.params import EXPRESSION_NAMES, MaskParams
    from realtime_mask.synth.score import expression_error
    p = script_patient(PatientScript(sign="normal", duration_s=1, fixation_noise_deg=0.0))
    measured = [f.rounded() for f in p.frames]
    brow = EXPRESSION_NAMES.index("browOuterUp_R")
    for i, f in enumerate(measured):
        f.expression = np.zeros(len(EXPRESSION_NAMES), np.float32)
        f.expression[brow] = 0.6
        f.expression[0] = 0.2 if i % 2 else 0.0
    measured[0] = MaskParams.no_face(measured[0].timestamp)   # lost: not scored
    e = expression_error(p.frames, measured)
    assert e["worst"] == "browOuterUp_R" and e["worst_mean_abs"] == pytest.approx(0.6, abs=1e-3)
    assert e["max_abs"] == pytest.approx(0.6, abs=1e-3)
    assert e["mean_abs"] > 0.6 / len(EXPRESSION_NAMES)
    assert expression_error(p.frames, p.frames)["mean_abs"] == 0.0
