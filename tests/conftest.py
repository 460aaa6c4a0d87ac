"""Shared fixtures: paths to the real data in ../shared (tests skip when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATA = SHARED / "data"
VIDEOS = DATA / "videos"
FACES = DATA / "faces"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's chromium, installed by .ci/run


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


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium (sync Playwright) for page tests."""
    if not CHROMIUM.exists():
        pytest.skip("headless chromium not installed at /usr/bin/chromium (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=flags)
        yield b
        b.close()
