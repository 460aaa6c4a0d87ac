"""The upper lid margin read from the pixels, and the lid read-out anchored to it."""

from __future__ import annotations

import pytest

from realtime_mask.face_model.lid_anchor import MIN_READINGS, LidAnchor
from realtime_mask.params import EyeParams, MaskParams
from realtime_mask.tracking.eye_image import read_eye_images


def drawn_and_read(renderer, eye: EyeParams) -> list[tuple[str, float, float | None]]:
    """Both eyes drawn alike by `renderer`: per side, the upper lid as drawn
    (the face may fall short of `eye`) and as the pixel margin reads it."""
    from realtime_mask.tracking import MediaPipeTracker

    params = renderer.shown(MaskParams(face_present=True, confidence=1.0,
                                       right_eye=eye, left_eye=eye))
    rgb = renderer.render(params)
    with MediaPipeTracker(static_image_mode=True) as tracker:
        images = read_eye_images(rgb, tracker.track(rgb))
    return [(side, getattr(params, f"{side}_eye").upper_lid, images[side].upper_lid)
            for side in ("right", "left")]


@pytest.mark.parametrize("seed, upper_lid, within", [
    (101, 0.2, 0.15), (101, 0.75, 0.15), (101, 1.1, 0.1), (104, 1.1, 0.1),
    (100, 1.0, 0.15), (100, 1.25, 0.1),
])
def test_margin_in_the_pixels_finds_a_synthetic_patients_lid(face_model, seed, upper_lid,
                                                             within):
    """Both eyes drawn alike (here 1.2, 4.4, 5.9, 6.4 and 7.3 mm MRD1) read
    near the drawn lid (0.15 iris radii = 0.9 mm); FaceMesh's own lid points
    read such eyes 1-2 mm apart. Where sclera shows between limbus and lid,
    the lid is read over the iris's middle (7.3 mm read 5.8-6.6 mm from the
    flanks), even where it shows as a sliver of a pixel or two (6.4 mm read
    up to 0.17 iris radii low from the flanks, and one eye of face 100 found
    a crease 0.7 radii above a 5.9 mm lid)."""
    from realtime_mask.synth.render import PatientRenderer

    with PatientRenderer(face_model, seed) as r:
        for side, drawn, read in drawn_and_read(r, EyeParams(upper_lid=upper_lid)):
            assert read == pytest.approx(drawn, abs=within), side


@pytest.mark.parametrize("pitch, yaw", [(0, 0), (-8, 0), (0, -12)])
def test_margin_of_a_raised_lid_with_the_eye_turned(face_model, pitch, yaw):
    """The avatar's lids raised to scleral show (about 7 mm MRD1) with the eyes
    turned. Turned 12 deg, one eye's lid sits low over part of the iris's
    middle: columns that start on the lid must not count (they found a crease
    above it, and the eye read 8.5 mm for a lid drawn at 6.4)."""
    from realtime_mask.render import AvatarRenderer

    with AvatarRenderer(face_model, 640, 480) as r:
        for side, drawn, read in drawn_and_read(r, EyeParams(upper_lid=1.2, pitch_deg=pitch,
                                                            yaw_deg=yaw)):
            assert read == pytest.approx(drawn, abs=0.1), side


def test_margin_needs_an_open_eye(face_model):
    from realtime_mask.synth.render import PatientRenderer
    from realtime_mask.tracking import MediaPipeTracker

    shut = EyeParams(upper_lid=-1.2)
    with PatientRenderer(face_model, 101) as r, MediaPipeTracker(static_image_mode=True) as t:
        rgb = r.render(MaskParams(face_present=True, confidence=1.0, right_eye=shut, left_eye=shut))
        lm = t.track(rgb)
        images = read_eye_images(rgb, lm) if lm is not None else {}
    assert all(image.upper_lid is None for image in images.values())


def eyes(lid: float = 0.5, blink: float = 0.0, pitch: float = 0.0, covered: bool = False):
    eye = EyeParams(upper_lid=lid, blink=blink, pitch_deg=pitch, covered=covered)
    return {"right": eye, "left": eye}


def test_anchor_moves_each_lid_to_its_margin_once_steady():
    anchor = LidAnchor()
    margins = {"right": 0.8, "left": 0.5}       # the right lid reads 0.3 too low
    for _ in range(MIN_READINGS - 1):
        assert anchor.apply(eyes(), margins, 0.0, 0.0) == eyes()
    out = anchor.apply(eyes(), margins, 0.0, 0.0)
    assert out["right"].upper_lid == pytest.approx(0.8)
    assert out["left"].upper_lid == pytest.approx(0.5)
    assert out["right"].lid_anchored and out["left"].lid_anchored     # MaskParams say so
    # Movements keep the landmarks: the lid lowered by 0.2 reads 0.2 lower.
    assert anchor.apply(eyes(lid=0.3), None, 0.0, 0.0)["right"].upper_lid == pytest.approx(0.6)
    # The offset fades out as the eye closes, so a blink still closes the drawn lids.
    assert anchor.apply(eyes(lid=-0.5, blink=1.0), None, 0.0, 0.0)["right"].upper_lid == -0.5
    assert anchor.apply(eyes(blink=0.5), None, 0.0, 0.0)["right"].upper_lid == pytest.approx(0.65)


@pytest.mark.parametrize("state, head", [
    (dict(blink=0.5), (0, 0)),          # a closing lid
    (dict(pitch=20.0), (0, 0)),         # up- or downgaze: MRD1 is defined in primary gaze
    (dict(covered=True), (0, 0)),
    ({}, (30, 0)),                      # the head turned away
])
def test_anchor_collects_only_a_frontal_open_eye_in_primary_gaze(state, head):
    anchor = LidAnchor()
    for _ in range(3 * MIN_READINGS):
        anchor.apply(eyes(**state), {"right": 0.8, "left": 0.8}, *head)
    assert anchor.offset == {"right": None, "left": None}


def test_anchor_ignores_unsteady_or_implausible_margins():
    anchor = LidAnchor()
    for i in range(3 * MIN_READINGS):       # a margin spread evenly over +-0.48 iris radii
        anchor.apply(eyes(), {"right": 0.5 + 0.96 * ((i % 10) / 9 - 0.5), "left": 2.0}, 0.0, 0.0)
    assert anchor.offset["right"] is None
    assert anchor.offset["left"] is None     # 1.5 off the read-out: a misread margin


def test_a_low_lid_reads_against_the_other_eyes_limbus_radius(face_model):
    """A 1 mm ptosis hides the top of the limbus, and the rays there meet the
    lid: fitted alone, the limbus circle swung from frame to frame (9.7-11.0 px
    against the other eye's 11.0) and the margin read against it between 1.0
    and 3.4 mm. Where the other eye's radius fits its edges better, it takes
    that radius: the frames read within 0.8 mm, most within 0.4 mm."""
    from itertools import islice

    from realtime_mask.clinical.units import IRIS_RADIUS_MM
    from realtime_mask.synth import PatientScript, script_patient
    from realtime_mask.synth.render import PatientRenderer
    from realtime_mask.tracking import MediaPipeTracker

    patient = script_patient(PatientScript(sign="ptosis", ptosis_side="left",
                                           ptosis_mrd1_mm=1.0, seed=108, duration_s=8.0))
    errors = []
    with PatientRenderer(face_model, 108) as person, MediaPipeTracker() as tracker:
        patient = person.realised(patient)
        for i, (rgb, _) in enumerate(islice(person.frames(patient), 16)):
            margin = read_eye_images(rgb, tracker.track(rgb))["left"].upper_lid
            truth = patient.frames[i].left_eye.upper_lid
            if margin is not None:
                errors.append(abs(margin - truth) * IRIS_RADIUS_MM)
    assert len(errors) >= 12
    shown = [round(e, 2) for e in errors]
    assert max(errors) < 0.8, shown
    assert sorted(errors)[len(errors) // 2] < 0.4, shown


@pytest.mark.parametrize("seed", [101, 102])
def test_margin_of_a_lid_lagging_above_an_eye_looking_down(face_model, seed):
    """Lid lag: the eye looks 10 deg down and the lid stays 8.6 mm above the
    iris centre. The sclera above the iris is lit brighter than beside it; the
    columns took that for the lid and read it 3.7-4.2 mm low."""
    from realtime_mask.clinical.units import IRIS_RADIUS_MM
    from realtime_mask.synth.render import PatientRenderer

    with PatientRenderer(face_model, seed) as r:
        for side, drawn, read in drawn_and_read(
                r, EyeParams(pitch_deg=-10.0, upper_lid=8.6 / IRIS_RADIUS_MM)):
            assert read == pytest.approx(drawn, abs=0.6 / IRIS_RADIUS_MM), side
