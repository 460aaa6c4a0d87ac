"""Shared fixtures: paths to the real data in ../shared (tests skip when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATA = SHARED / "data"
VIDEOS = DATA / "videos"
FACES = DATA / "faces"


def real_file(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real test data not available: {path} (expected ../shared/data)")
    return path


@pytest.fixture(scope="session")
def videos_dir() -> Path:
    return real_file(VIDEOS)


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    return real_file(FACES)


@pytest.fixture(scope="session")
def face_model():
    from realtime_mask.face_model.assets import ModelNotFound, load_face_model

    try:
        return load_face_model(allow_download=False)
    except ModelNotFound as e:
        pytest.skip(str(e))
