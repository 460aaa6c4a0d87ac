"""Corneal reflexes (the Hirschberg read-out) and the deviation anchored to them."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_mask.face_model.reflex_anchor import MIN_PAIRS, ReflexAnchor
from realtime_mask.params import EyeParams, HeadPose, MaskParams
from realtime_mask.tracking.eye_image import read_eye_images
from realtime_mask.tracking.reflex import Reflex


def frame(right_yaw: float, left_yaw: float, head_yaw: float = 0.0, lid: float = 0.8) -> MaskParams:
    return MaskParams(face_present=True, confidence=1.0, head=HeadPose(yaw_deg=head_yaw),
                      right_eye=EyeParams(yaw_deg=right_yaw, upper_lid=lid),
                      left_eye=EyeParams(yaw_deg=left_yaw, upper_lid=lid))


@pytest.fixture(scope="module")
def patient(face_model):
    from realtime_mask.synth.render import PatientRenderer
    from realtime_mask.tracking import MediaPipeTracker

    with PatientRenderer(face_model, 101) as r, MediaPipeTracker(static_image_mode=True) as t:
        def look(params: MaskParams):
            rgb = r.render(params)
            return {side: image.reflex for side, image in read_eye_images(rgb, t.track(rgb)).items()}
        yield look


def test_reflexes_read_each_eyes_line_of_sight_on_a_synthetic_patient(patient):
    # Gaze 0 fixates the camera (the light): both reflexes sit on the iris centre.
    straight = patient(frame(0, 0))
    assert all(abs(straight[s].yaw_deg) < 2.0 for s in ("right", "left"))
    # A right esotropia of 10 deg: the right eye's reflex moves, the left's does not.
    # (One still frame; fidelity.py measures the accuracy over clips and faces.)
    eso = patient(frame(10, 0))
    assert eso["right"].yaw_deg == pytest.approx(10, abs=3.0)
    assert abs(eso["left"].yaw_deg) < 2.0
    assert eso["right"].yaw_deg - eso["left"].yaw_deg == pytest.approx(10, abs=3.0)
    # A head turn moves both reflexes alike: the deviation stays. (This still
    # frame reads 12.7-13.2 deg, moving with a few edge pixels of the lids.)
    turned = patient(frame(5, -5, head_yaw=10))
    assert turned["right"].yaw_deg - turned["left"].yaw_deg == pytest.approx(10, abs=3.5)
    assert turned["left"].yaw_deg > 2.0


def test_no_reflex_without_a_light_or_with_closed_lids(face_model, patient):
    from realtime_mask.render import AvatarRenderer
    from realtime_mask.tracking import MediaPipeTracker

    shut = patient(frame(0, 0, lid=-1.2))
    assert shut["right"] is None and shut["left"] is None
    # The neutral avatar has no corneal reflex: nothing may be made up.
    with AvatarRenderer(face_model) as r, MediaPipeTracker(static_image_mode=True) as t:
        rgb = r.render(frame(0, 0))
        assert all(image.reflex is None for image in read_eye_images(rgb, t.track(rgb)).values())


def reflex_at(yaw: float) -> Reflex:
    """A reflex that reads `yaw` degrees."""
    from realtime_mask.clinical.units import REFLEX_LEVER_RADII

    return Reflex(offset=(-np.sin(np.radians(yaw)) * REFLEX_LEVER_RADII, 0.0))


def test_anchor_moves_the_deviation_to_the_reflexes_half_in_each_eye():
    anchor = ReflexAnchor()
    # landmarks: 4 deg eso; reflexes: 10 deg eso (a face whose eyeballs sit off)
    eyes = {"right": EyeParams(yaw_deg=3.0), "left": EyeParams(yaw_deg=-1.0)}
    reflexes = {"right": reflex_at(6.0), "left": reflex_at(-4.0)}
    for _ in range(MIN_PAIRS - 1):
        out, anchored = anchor.apply(eyes, reflexes)
        assert not anchored and out == eyes
    out, anchored = anchor.apply(eyes, reflexes)
    assert anchored
    assert out["right"].yaw_deg - out["left"].yaw_deg == pytest.approx(10.0, abs=1e-6)
    assert out["right"].yaw_deg + out["left"].yaw_deg == pytest.approx(2.0, abs=1e-6)
    # The offset is held where the reflexes are missing (a covered or shut eye).
    covered = {"right": EyeParams(yaw_deg=3.0), "left": EyeParams(yaw_deg=-1.0, covered=True)}
    out, anchored = anchor.apply(covered, {"right": reflex_at(6.0), "left": None})
    assert anchored and out["right"].yaw_deg == pytest.approx(6.0, abs=1e-6)
    anchor.reset()
    assert anchor.apply(eyes, None) == (eyes, False)


def test_anchor_ignores_frames_with_a_covered_or_closing_eye():
    anchor = ReflexAnchor()
    reflexes = {"right": reflex_at(6.0), "left": reflex_at(-4.0)}
    for eyes in ({"right": EyeParams(covered=True), "left": EyeParams()},
                 {"right": EyeParams(blink=0.8), "left": EyeParams()}):
        for _ in range(MIN_PAIRS):
            assert anchor.apply(eyes, reflexes)[1] is False


def test_anchor_holds_its_last_steady_offset_instead_of_dropping_it():
    anchor = ReflexAnchor()
    eyes = {"right": EyeParams(yaw_deg=3.0), "left": EyeParams(yaw_deg=-1.0)}
    for _ in range(MIN_PAIRS):
        anchor.apply(eyes, {"right": reflex_at(6.0), "left": reflex_at(-4.0)})
    assert anchor.offset[0] == pytest.approx(6.0, abs=1e-6)
    # then a run of pairs that disagree wildly: the window is no longer steady
    rng = np.random.default_rng(0)
    for yaw in rng.uniform(-12, 12, 3 * MIN_PAIRS):
        out, anchored = anchor.apply(eyes, {"right": reflex_at(yaw), "left": reflex_at(-yaw)})
        assert anchored and out["right"].yaw_deg - out["left"].yaw_deg == pytest.approx(10.0, abs=1e-6)


def test_anchor_takes_a_moved_read_out_within_twelve_pairs():
    """On a re-tracked avatar the landmark deviation moves by several degrees
    when the masker's own anchors engage (FaceMesh drags the corners with the
    drawn iris, and eyes.py's corner low-pass takes that in over ~1 s), while
    the reflexes stay. After a full window of the old disagreement, the anchor
    takes the new one within 12 pairs (1.2 s at every third frame); a 3 s window
    held the old offset for 16 pairs and gave a control a "nystagmus"."""
    from realtime_mask.face_model.reflex_anchor import HISTORY

    anchor = ReflexAnchor()
    rng = np.random.default_rng(1)
    reflexes = {"right": reflex_at(1.0), "left": reflex_at(-1.0)}   # the drawn 2 deg
    for _ in range(HISTORY):
        jitter = rng.normal(0, 0.3)
        anchor.apply({"right": EyeParams(yaw_deg=jitter), "left": EyeParams()}, reflexes)
    assert anchor.offset[0] == pytest.approx(2.0, abs=0.3)
    # the read-out now says 6 deg too much (landmarks 8, reflexes 2)
    for pairs in range(1, 16):
        jitter = rng.normal(0, 0.3)
        out, _ = anchor.apply({"right": EyeParams(yaw_deg=4.0 + jitter),
                               "left": EyeParams(yaw_deg=-4.0)}, reflexes)
        if abs(out["right"].yaw_deg - out["left"].yaw_deg - 2.0) < 0.5:
            break
    assert pairs <= 12
