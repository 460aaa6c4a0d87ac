"""Session avatars: a random face per consultation, so masks cannot be matched
to masks.

With one shared avatar for everybody the only thing left in a mask is
behaviour (pose, expression, gaze), and a face recogniser matched two masked
photos of the same person far above chance (the "Mask2Mask" attack; measured
0.50 rank-1 in 6-choose-1 here). A fresh random ICT identity and skin/brow tone
per session, drawn from a random seed that has nothing to do with the patient,
makes masks from different sessions look like different people. Around the
eyes every avatar keeps the mean face's geometry, which the eye read-out is
calibrated on; which faces are used is decided by avatar_pool.py. Seed 0 is
the shared mean avatar.

Every avatar shows the corneal reflex of a light at the camera where a
patient's sits who looks at the screen with the avatar's gaze: the doctor sees
the Hirschberg sign, and a re-tracked avatar's reflexes anchor its deviation as
a patient's do (face_model/reflex_anchor.py). The reflex is placed as on eyes
turned in to fixate the camera at gaze 0, which the anchor's read-out assumes
(placed for the parallel eyes drawn, it reads about 5 degrees exo); the eyes
themselves are drawn parallel at gaze 0, as the eye read-out is calibrated.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..clinical.units import REFLEX_LEVER_RADII
from ..face_model.assets import FaceModel
from .appearance import NEUTRAL_APPEARANCE, Appearance
from .renderer import AvatarRenderer

SHARED_AVATAR = 0
IDENTITY_SD = 1.5        # in units of each ICT identity mode
MAX_SEED = 2**31 - 1
# The reflex as bright as the synthetic patients' (synth/render.py), with the
# Hirschberg ratio the reflex read-out assumes.
AVATAR_REFLEX = 0.9


def avatar_look(seed: int, n_modes: int = 100) -> tuple[np.ndarray | None, Appearance]:
    """The identity coefficients and appearance of avatar `seed` (0 = shared mean)."""
    if seed == SHARED_AVATAR:
        return None, _with_reflex(NEUTRAL_APPEARANCE)
    if not 0 < seed <= MAX_SEED:
        raise ValueError(f"avatar seed must be in 0..{MAX_SEED}, got {seed}")
    rng = np.random.default_rng(seed)
    identity = rng.normal(0.0, IDENTITY_SD, n_modes)
    skin = np.clip(np.array(NEUTRAL_APPEARANCE.skin_rgb) * rng.uniform(0.55, 1.15), 0.0, 1.0)
    brow = np.clip(np.array(NEUTRAL_APPEARANCE.brow_rgb) * rng.uniform(0.4, 1.6), 0.0, 1.0)
    lip = np.clip(np.array(NEUTRAL_APPEARANCE.lip_rgb) * rng.uniform(0.8, 1.1), 0.0, 1.0)
    return identity, _with_reflex(Appearance(skin_rgb=_rgb(skin), brow_rgb=_rgb(brow),
                                             lip_rgb=_rgb(lip)))


def _with_reflex(look: Appearance) -> Appearance:
    return replace(look, corneal_reflex=AVATAR_REFLEX, reflex_lever=REFLEX_LEVER_RADII)


def _rgb(v: np.ndarray) -> tuple[float, float, float]:
    return (float(v[0]), float(v[1]), float(v[2]))


def avatar_renderer(model: FaceModel, seed: int, width: int = 640, height: int = 480,
                    lid_shapes_only: bool = False) -> AvatarRenderer:
    identity, appearance = avatar_look(seed, model.identity_deltas.shape[0])
    return AvatarRenderer(model, width, height, identity=identity, appearance=appearance,
                          keep_eye_region=True, reflex_as_fixating=True,
                          lid_shapes_only=lid_shapes_only)
