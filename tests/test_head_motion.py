"""The head's quick movements from the nose's pixels (tracking/head_motion.py)
and the vertical eye movements they let through at their size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from realtime_mask.params import EyeParams, MaskParams
from realtime_mask.tracking.head_motion import NOSE, NoseMotion

FPS = 30.0


def eyes_raised(pitch: float) -> MaskParams:
    eye = EyeParams(pitch_deg=float(pitch))
    return MaskParams(face_present=True, confidence=1.0, right_eye=eye, left_eye=eye)


def shifted(rgb: np.ndarray, dy: float) -> np.ndarray:
    m = np.float64([[1, 0, 0], [0, 1, dy]])
    return cv2.warpAffine(rgb, m, (rgb.shape[1], rgb.shape[0]), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REPLICATE)


def test_the_nose_follows_the_head_and_not_the_eyes(face_model):
    """The avatar's eyes swing 3 degrees up and down at 3 Hz, and then the
    whole frame moves by a known sub-pixel amount: the nose's position holds
    still through the first (where FaceMesh's own nose point swings with the
    eyes) and moves with the second."""
    from realtime_mask.render import AvatarRenderer
    from realtime_mask.tracking import MediaPipeTracker

    t = np.arange(45) / FPS
    pitches = 1.5 * np.sin(2 * np.pi * 3.0 * t)
    nose, facemesh_nose = NoseMotion(), []
    positions = []
    with AvatarRenderer(face_model, 640, 480) as renderer, MediaPipeTracker() as tracker:
        still = renderer.render(eyes_raised(0.0))
        for i, pitch in enumerate(pitches):
            rgb = renderer.render(eyes_raised(pitch))
            landmarks = tracker.track(rgb)
            positions.append(nose.update(rgb, landmarks))
            facemesh_nose.append(landmarks.points[NOSE, 1])
        assert positions[0] is None                  # no frame before the first
        eyes_only = np.array(positions[1:])
        assert np.ptp(eyes_only[:, 1]) < 0.1
        assert np.ptp(facemesh_nose[15:]) > 2 * np.ptp(eyes_only[:, 1])
        moves = [0.0, 0.3, 0.8, 0.5, -0.4]
        for dy in moves:
            rgb = shifted(still, dy)
            positions.append(nose.update(rgb, tracker.track(rgb)))
    got = np.array(positions[-len(moves):])[:, 1]
    np.testing.assert_allclose(got - got[0], np.array(moves) - moves[0], atol=0.08)


def test_where_the_flow_fails_facemeshs_nose_movement_is_taken():
    """A flat grey frame has no flow to find: the position moves as FaceMesh's
    nose point does, and the frame is not counted as followed. A nose at the
    frame's edge has no crop: None, not a guess."""
    from realtime_mask.tracking.landmarks import N_LANDMARKS, Landmarks

    def at(nose_x: float) -> Landmarks:
        points = np.zeros((N_LANDMARKS, 3), np.float32)
        points[:, :2] = (320, 240)
        points[468, 0], points[473, 0] = 290, 350          # the irises, 60 px apart
        points[NOSE, 0] = nose_x
        return Landmarks(points, 640, 480, 1.0)

    flat = np.full((480, 640, 3), 128, np.uint8)
    nose = NoseMotion()
    assert nose.update(flat, at(320)) is None                # no frame before the first
    first = nose.update(flat, at(320))
    np.testing.assert_allclose(nose.update(flat, at(321.5)) - first, (1.5, 0.0))
    assert nose.followed == 0
    nose.update(flat, at(2))
    assert nose.update(flat, at(2)) is None
    # a stream whose frames shrink (a browser lowering its resolution)
    nose.update(flat, at(320))
    assert nose.update(flat[:200, :400], at(330)) is not None


def test_unfollowed_frames_move_with_facemeshs_nose(face_model):
    """While the head moves the eye model has no use for the flow, and the
    position goes with FaceMesh's nose point: no flow is run (`followed`
    stays 0), and the flow takes over again from the frame after."""
    from realtime_mask.render import AvatarRenderer
    from realtime_mask.tracking import MediaPipeTracker

    nose = NoseMotion()
    with AvatarRenderer(face_model, 640, 480) as renderer, MediaPipeTracker() as tracker:
        still = renderer.render(eyes_raised(0.0))
        landmarks = [tracker.track(shifted(still, dy)) for dy in (0.0, 0.3, 0.6, 0.6)]
        frames = [shifted(still, dy) for dy in (0.0, 0.3, 0.6, 0.6)]
    assert nose.update(frames[0], landmarks[0], follow=False) is None
    moved = nose.update(frames[1], landmarks[1], follow=False)
    np.testing.assert_allclose(moved, landmarks[1].points[NOSE, :2] - landmarks[0].points[NOSE, :2])
    assert abs(moved[1]) > 0.1                  # FaceMesh saw the frame move
    nose.update(frames[2], landmarks[2], follow=True)        # takes its crop
    assert nose.followed == 0
    nose.update(frames[3], landmarks[3], follow=True)
    assert nose.followed == 1


def test_a_vertical_nystagmus_reads_at_its_size_in_each_eye(face_model):
    """A 3 Hz, 3 degree (peak to peak) vertical nystagmus of a synthetic face
    (benchmarks/fidelity.py's nys_v_3hz_3deg, second face). FaceMesh moves this
    face's head frame with its eyes, and with the head frame alone its right
    eye read 0.4 degrees of swing and the nystagmus was not found; with the
    head's quick movements from the nose's pixels and the iris's from its
    limbus, each eye keeps its swing."""
    from realtime_mask.clinical import ParamsTrack, measure_nystagmus
    from realtime_mask.pipeline import FrameMasker
    from realtime_mask.synth import PatientScript, script_patient
    from realtime_mask.synth.render import PatientRenderer

    patient = script_patient(PatientScript(
        seed=207, duration_s=6.0, sign="nystagmus", nystagmus_hz=3.0,
        nystagmus_amplitude_deg=3.0, nystagmus_direction="vertical"))
    with PatientRenderer(face_model, 207) as person, \
            FrameMasker(model=face_model, avatar="shared") as masker:
        stream = [masker.measure(rgb, t) for rgb, t in person.frames(patient)]
    assert all(p.face_present for p in stream)
    found = measure_nystagmus(ParamsTrack.from_params(stream))
    assert found.present, found
    assert found.frequency_hz == pytest.approx(3.0, abs=0.2)
    assert found.direction == "vertical"
    for side in ("left", "right"):
        pitch = found.per_eye[side]["pitch"]
        assert pitch.frequency_hz == pytest.approx(3.0, abs=0.2), side
        assert pitch.fundamental_p2p_deg == pytest.approx(3.0, rel=0.3), side


def test_a_turning_head_keeps_the_head_frames_centres(face_model):
    """The avatar's head turns (12 degrees of yaw, 5 of pitch) with its eyes
    held straight: the nose and the eyeballs then move apart in the image, so
    the nose's pixels say nothing about the centres, and the read-out keeps
    the head frame's. (Taken from the nose regardless, the eyes' pitch
    scattered with a standard deviation of 10 degrees here, against 3.)"""
    from realtime_mask.params import HeadPose
    from realtime_mask.pipeline import FrameMasker
    from realtime_mask.render import AvatarRenderer

    t = np.arange(90) / FPS
    read = []
    with AvatarRenderer(face_model, 640, 480) as renderer, \
            FrameMasker(model=face_model, avatar="shared") as masker:
        for ti in t:
            head = HeadPose(yaw_deg=float(12 * np.sin(2 * np.pi * 0.7 * ti)),
                            pitch_deg=float(5 * np.sin(2 * np.pi * 1.1 * ti)), roll_deg=0.0)
            params = MaskParams(face_present=True, confidence=1.0, head=head,
                                right_eye=EyeParams(), left_eye=EyeParams())
            got = masker.measure(renderer.render(params), float(ti))
            read.append([got.right_eye.pitch_deg, got.left_eye.pitch_deg])
    assert (np.array(read)[30:].std(axis=0) < 5.0).all()
