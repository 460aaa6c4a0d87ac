"""Everything derived from the ICT model and MediaPipe, built once into the
cache folder: the landmark correspondence, the eye calibration and the pool of
session avatars. A first start on a machine takes a few minutes; later starts
load them in well under a second."""

from __future__ import annotations

from .face_model.assets import FaceModel


def build_derived_caches(model: FaceModel) -> list[int]:
    """Load (building when missing) every derived cache; returns the avatar pool."""
    from .avatar_pool import load_avatar_pool
    from .face_model.correspondence import load_correspondence
    from .face_model.eye_calibration import load_eye_calibration

    load_correspondence(model)
    load_eye_calibration(model)
    return load_avatar_pool(model)
