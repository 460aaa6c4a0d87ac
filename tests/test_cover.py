"""Covered eyes (cover test): found in the pixels, held in MaskParams, drawn covered."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from realtime_mask.clinical import ParamsTrack
from realtime_mask.media import read_video
from realtime_mask.params import EyeParams, MaskParams
from realtime_mask.tracking.landmarks import RIGHT_EYE_CONTOUR

COVERED = range(30, 60)


def cover_right_eye(frames, box, colour=(200, 160, 140)):
    """The clip with a card over the patient's right eye in COVERED frames."""
    out = []
    for i, (rgb, t) in enumerate(frames):
        if i in COVERED:
            rgb = cv2.rectangle(rgb.copy(), box[:2], box[2:], colour, -1)
        out.append((rgb, t))
    return out


@pytest.fixture(scope="module")
def covered_clip(videos_dir):
    """liveportrait_d0 (the patient looks aside) with the right eye covered for a second."""
    from realtime_mask.tracking import MediaPipeTracker

    frames = list(itertools.islice(read_video(videos_dir / "liveportrait_d0.mp4"), 75))
    with MediaPipeTracker() as tracker:
        pts = tracker.track(frames[0][0]).points[:, :2]
    c = RIGHT_EYE_CONTOUR
    eye = pts[[c.inner, c.outer, *c.upper, *c.lower]]
    (x0, y0), (x1, y1) = eye.min(0), eye.max(0)
    w = x1 - x0
    box = (int(x0 - 0.6 * w), int(y0 - w), int(x1 + 0.6 * w), int(y1 + w))
    return frames, box


def detect(frames):
    from realtime_mask.tracking import MediaPipeTracker
    from realtime_mask.tracking.cover import EyeCoverDetector

    found = []
    detector = EyeCoverDetector()
    with MediaPipeTracker() as tracker:
        for rgb, _ in frames:
            found.append(detector.update(rgb, tracker.track(rgb)))
    return found


@pytest.mark.parametrize("colour", [(200, 160, 140), (40, 40, 40)])
def test_a_covered_eye_is_found_and_only_while_covered(covered_clip, colour):
    frames, box = covered_clip
    found = detect(cover_right_eye(frames, box, colour))
    right = np.array([f["right"] for f in found])
    left = np.array([f["left"] for f in found])
    assert not left.any()
    assert right[COVERED.start + 2:COVERED.stop].all()          # after COVER_FRAMES
    assert not right[:COVERED.start].any() and not right[COVERED.stop + 2:].any()


@pytest.mark.parametrize("clip", ["liveportrait_d3.mp4", "liveportrait_d6.mp4",
                                  "pyfeat_single_face.mp4", "grid_lrwp9a.mpg"])
def test_no_eye_is_called_covered_in_clips_without_a_cover(videos_dir, clip):
    """Squints (d3), blinks (d6) and speech: the eyes stay uncovered."""
    frames = list(itertools.islice(read_video(videos_dir / clip), 150))
    found = detect(frames)
    assert not any(f["right"] or f["left"] for f in found)


def test_the_doctor_sees_a_cover_not_a_made_up_eye(covered_clip, face_model):
    """FaceMesh draws the covered eye open and looking ahead while the other eye
    looks aside; the avatar must show the cover, and MaskParams hold the eye."""
    from realtime_mask.pipeline import FrameMasker
    from realtime_mask.render.renderer import COVER_RGBA

    frames, box = covered_clip
    with FrameMasker(320, 240, avatar="shared") as masker:
        results = [masker.process(rgb, t) for rgb, t in cover_right_eye(frames, box)]
    params = [r.params for r in results]
    covered = [p.right_eye.covered for p in params]
    assert all(covered[COVERED.start + 2:COVERED.stop]) and not any(covered[:COVERED.start])
    assert not any(p.left_eye.covered for p in params)
    held = params[COVERED.start + 5].right_eye
    assert held.yaw_deg == params[COVERED.start + 6].right_eye.yaw_deg   # held, not measured
    patch = np.all(results[COVERED.start + 5].frame == COVER_RGBA[:3], axis=-1)
    assert patch.sum() > 100 and not np.all(results[10].frame == COVER_RGBA[:3], axis=-1).any()
    # in the clinical track the covered eye is unknown, the other one is measured
    track = ParamsTrack.from_params(params)
    inside = slice(COVERED.start + 2, COVERED.stop)
    assert np.isnan(track.right.yaw[inside]).all() and np.isfinite(track.left.yaw[inside]).all()
    # and the report says how long it was covered
    from realtime_mask.clinical import summarize
    from realtime_mask.clinical.report import render_report

    summary = summarize(track)
    assert summary.covered_s["right"] == pytest.approx(sum(covered) * track.frame_interval)
    assert sum(covered) >= len(COVERED) - 2 and summary.covered_s["left"] == 0.0
    assert (f"Eye covered (cover test; not measured then)</td><td>right "
            f"{summary.covered_s['right']:.1f} s") in render_report(track, summary)


def test_mask_command_reports_covered_frames(covered_clip, tmp_path):
    import subprocess
    import sys
    from fractions import Fraction

    from realtime_mask.media import VideoWriter

    frames, box = covered_clip
    src = tmp_path / "covered.mp4"
    h, w = frames[0][0].shape[:2]
    writer = VideoWriter(src, w, h, Fraction(25))
    for rgb, _ in cover_right_eye(frames, box):
        writer.write_rgb(rgb)
    writer.close()
    r = subprocess.run([sys.executable, "-m", "realtime_mask", "mask", str(src), "-o",
                        str(tmp_path / "out.mp4"), "--size", "320x240"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    covered = int(r.stderr.split(" with an eye covered")[0].rsplit(" ", 1)[1])
    assert 20 <= covered <= 30, r.stderr


def test_covered_survives_json_and_old_lines_read_uncovered():
    p = MaskParams(face_present=True, confidence=1.0, right_eye=EyeParams(yaw_deg=3.0, covered=True))
    back = MaskParams.from_json(p.to_json())
    assert back.right_eye.covered is True and back.left_eye.covered is False
    old = p.to_dict()
    old["version"] = 2
    for side in ("left_eye", "right_eye"):
        del old[side]["covered"]
    assert MaskParams.from_dict(old).right_eye.covered is False


def test_a_synthetic_cover_test_reads_the_refixation(face_model):
    """A patient with a right esotropia of 10 degrees has the fixing left eye
    covered: the masker finds the cover and reads the right eye taking up
    fixation (a movement towards the patient's right)."""
    from realtime_mask.pipeline import FrameMasker
    from realtime_mask.synth import PatientScript, script_patient
    from realtime_mask.synth.render import PatientRenderer
    from realtime_mask.synth.score import cover_test_score

    patient = script_patient(PatientScript(sign="esotropia", deviation_deg=10.0, seed=113,
                                           deviating_eye="right", cover_test=True,
                                           duration_s=6.0))
    with PatientRenderer(face_model, 113) as person, FrameMasker(avatar="shared") as masker:
        patient = person.realised(patient)
        params = [masker.process(rgb, t, output="rgb24").params for rgb, t in person.frames(patient)]
    got = cover_test_score(patient.truth["cover_test"], ParamsTrack.from_params(params))
    assert got["cover_found"] > 0.9
    yaw, pitch = got["refixation_measured_deg"]
    assert yaw < -4.0 and abs(pitch) < 2.0, got
