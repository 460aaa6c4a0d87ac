"""The head's quick movements from the nose's pixels (tracking/head_motion.py)."""

from __future__ import annotations

import cv2
import numpy as np

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
