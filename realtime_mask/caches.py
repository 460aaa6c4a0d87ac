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


def first_run_notice(model: FaceModel, pool: bool = True) -> str | None:
    """A line for the user when a derived cache is still to be built, so that
    a first start's few silent minutes do not look like a hang (pool: the
    session avatars are wanted too)."""
    from .avatar_pool import pool_cache_file
    from .face_model.correspondence import correspondence_cache_file
    from .face_model.eye_calibration import calibration_cache_file

    files = [correspondence_cache_file(model), calibration_cache_file(model)]
    files += [pool_cache_file(model)] if pool else []
    if all(f.is_file() for f in files):
        return None
    return (f"building what the masker derives from the model in {files[0].parent}: "
            "a few minutes, once (`realtime-mask assets --build` does it ahead)")
