import numpy as np
import pytest

from realtime_mask.face_model import assets


def test_model_has_expected_topology(face_model):
    assert face_model.neutral.shape == (26719, 3)
    assert face_model.expression_deltas.shape[0] == len(face_model.expression_names) == 53
    assert face_model.identity_deltas.shape == (100, 26719, 3)
    blink = face_model.expression_deltas[face_model.expression_index("eyeBlink_L")]
    moved = np.linalg.norm(blink, axis=1) > 0.05
    a, b = assets.PARTS["face"]
    assert moved[a:b].sum() > 50  # a blink moves face (lid) vertices


def test_missing_model_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("REALTIME_MASK_ICT", str(tmp_path / "nowhere"))
    with pytest.raises(assets.ModelNotFound, match="REALTIME_MASK_ICT"):
        assets.find_source()


def test_cache_is_keyed_by_source_content(tmp_path, monkeypatch, face_model):
    # a folder source with different content must map to a different cache file
    folder = tmp_path / "FaceXModel"
    folder.mkdir()
    (folder / "generic_neutral_mesh.obj").write_text("v 0 0 0\n")
    monkeypatch.setenv("REALTIME_MASK_ICT", str(folder))
    other = assets.cache_file_for(assets.find_source())
    assert other != face_model.cache_file
    assert other.name.startswith("ict-")
