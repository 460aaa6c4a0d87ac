"""Render a scripted patient as a person who is not the avatar.

A seeded random ICT identity (face shape) and a seeded non-default appearance
(skin tone with mottling, textured iris of another colour, another background)
make a synthetic "camera" clip that MediaPipe tracks like a face. The live
mask never uses an identity or appearance: this is test-data generation only.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from ..face_model.assets import FaceModel
from ..clinical.units import IRIS_RADIUS_MM, REFLEX_LEVER_RADII
from ..params import EyeParams, MaskParams
from ..render import AvatarRenderer, Appearance
from .script import ScriptedPatient

IDENTITY_SD = 0.8  # in units of each identity mode; keeps faces plausible
# ICT's eyeWide at full weight lifts some faces' upper lids only to ~5.8 mm
# MRD1, short of a marked lid retraction: patients may extrapolate it this far
# (seed 109 needs 1.35 for 7 mm; the lid still looks like a lid).
PATIENT_WIDE_LIMIT = 1.5

SKIN_TONES = [(0.93, 0.76, 0.65), (0.85, 0.66, 0.53), (0.74, 0.55, 0.42),
              (0.60, 0.43, 0.32), (0.45, 0.32, 0.24), (0.90, 0.72, 0.60)]
IRIS_COLOURS = [(0.18, 0.30, 0.45), (0.28, 0.38, 0.22), (0.30, 0.20, 0.12),
                (0.42, 0.36, 0.25), (0.20, 0.14, 0.10)]
BACKGROUNDS = [(0.55, 0.58, 0.52), (0.70, 0.66, 0.60), (0.30, 0.34, 0.42), (0.62, 0.55, 0.48)]


def random_identity(seed: int, n_modes: int = 100) -> np.ndarray:
    rng = np.random.default_rng([seed, 1])
    return np.clip(rng.normal(0.0, IDENTITY_SD, n_modes), -2.5, 2.5)


def random_appearance(seed: int) -> Appearance:
    rng = np.random.default_rng([seed, 2])

    def pick(options, jitter=0.03):
        base = np.array(options[rng.integers(len(options))])
        return tuple(float(v) for v in np.clip(base + rng.uniform(-jitter, jitter, 3), 0, 1))

    skin = pick(SKIN_TONES)
    iris, background = pick(IRIS_COLOURS), pick(BACKGROUNDS)
    # The light at the camera leaves a corneal reflex; the Hirschberg ratio
    # varies between people (sd about 8 %), so each person's lever does too.
    lever = float(np.clip(rng.normal(REFLEX_LEVER_RADII, 0.08 * REFLEX_LEVER_RADII), 0.6, 0.95))
    return Appearance(
        skin_rgb=skin, iris_rgb=iris, sclera_rgb=(0.93, 0.92, 0.88),
        brow_rgb=tuple(float(c) * 0.35 for c in skin),
        lip_rgb=tuple(float(np.clip(c * f, 0, 1)) for c, f in zip(skin, (0.95, 0.62, 0.62))),
        background_rgb=background, detail=0.8, corneal_reflex=0.9, reflex_lever=lever)


class PatientRenderer:
    """Frames of a synthetic person; same seed, same bytes."""

    def __init__(self, model: FaceModel, seed: int, width: int = 640, height: int = 480):
        self.identity = random_identity(seed, model.identity_deltas.shape[0])
        self.appearance = random_appearance(seed)
        self._renderer = AvatarRenderer(model, width, height, identity=self.identity,
                                        appearance=self.appearance,
                                        lid_wide_limit=PATIENT_WIDE_LIMIT, fixate_camera=True,
                                        clip_eyes_to_lids=True)

    def render(self, params: MaskParams) -> np.ndarray:
        return self._renderer.render(params)

    def shown(self, params: MaskParams) -> MaskParams:
        """The params with the lids where this face draws them (AvatarRenderer.shown)."""
        return self._renderer.shown(params)

    def realised(self, patient: ScriptedPatient) -> ScriptedPatient:
        """The patient as this face shows it: per-frame lids where the face draws
        them, and the truth's MRD1/MRD2 from the scripted open lids in primary
        gaze drawn the same way. (Seed 109's face lifts a scripted 9 mm lid
        retraction to about 7.5 mm.)"""
        frames = [self.shown(p) for p in patient.frames]
        mrd1, mrd2 = {}, {}
        for side in ("right", "left"):
            eye = EyeParams(upper_lid=patient.truth["mrd1_mm"][side] / IRIS_RADIUS_MM,
                            lower_lid=patient.truth["mrd2_mm"][side] / IRIS_RADIUS_MM)
            drawn = getattr(self.shown(
                MaskParams(face_present=True, confidence=1.0, left_eye=eye, right_eye=eye)),
                f"{side}_eye")
            mrd1[side] = round(drawn.upper_lid * IRIS_RADIUS_MM, 4)
            mrd2[side] = round(drawn.lower_lid * IRIS_RADIUS_MM, 4)
        truth = {**patient.truth, "mrd1_mm": mrd1, "mrd2_mm": mrd2}
        return replace(patient, frames=frames, truth=truth)

    def frames(self, patient: ScriptedPatient) -> Iterator[tuple[np.ndarray, float]]:
        for p in patient.frames:
            yield self.render(p), p.timestamp

    def close(self) -> None:
        self._renderer.close()

    def __enter__(self) -> "PatientRenderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_clip(model: FaceModel, patient: ScriptedPatient, path: Path,
               width: int = 640, height: int = 480) -> ScriptedPatient:
    """Render and encode the clip (H.264 for .mp4); returns the patient as the
    clip shows it (`PatientRenderer.realised`), whose truth goes with the clip."""
    from ..media import VideoWriter

    writer = VideoWriter(path, width, height, Fraction(patient.script.fps).limit_denominator(1001))
    try:
        with PatientRenderer(model, patient.script.seed, width, height) as r:
            patient = r.realised(patient)
            for rgb, _ in r.frames(patient):
                writer.write_rgb(rgb)
    finally:
        writer.close()
    return patient
