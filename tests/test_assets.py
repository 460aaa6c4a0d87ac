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


def test_a_damaged_model_file_is_one_clear_error(tmp_path, monkeypatch):
    """A truncated download or the wrong file named by REALTIME_MASK_ICT: the
    build says which file and how to provide the model, no tarfile traceback."""
    shared = assets.find_source()
    if shared.kind != "tarball":
        pytest.skip("needs the ICT tarball (../shared/assets or REALTIME_MASK_ICT)")
    cut = tmp_path / "cut.tar.xz"
    with open(shared.location, "rb") as f:
        cut.write_bytes(f.read(200_000))
    for bad in (cut, tmp_path / "notes.txt"):
        if not bad.exists():
            bad.write_text("not a model")
        monkeypatch.setenv("REALTIME_MASK_ICT", str(bad))
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        with pytest.raises(assets.ModelNotFound, match=f"{bad.name} is not a readable"):
            assets.load_face_model(allow_download=False)


@pytest.mark.parametrize("argv", [["assets"], ["mask", "in.png", "-o", "out.png"]])
def test_commands_without_a_model_say_so_in_one_line(tmp_path, monkeypatch, capsys, argv):
    from realtime_mask.cli import main

    import cv2
    cv2.imwrite(str(tmp_path / "in.png"), np.zeros((48, 64, 3), np.uint8))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REALTIME_MASK_ICT", str(tmp_path / "nowhere"))
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "REALTIME_MASK_ICT" in err[0], err


def test_a_cache_folder_that_cannot_be_written_is_one_clear_error(tmp_path, monkeypatch):
    """Every derived cache is written through one of two places; a cache
    folder under a file (or without permission) names the file and the fix."""
    from realtime_mask import avatar_pool

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with pytest.raises(assets.ModelNotFound, match="XDG_CACHE_HOME"):
        assets.cached_arrays(blocked / "cache" / "x.npz", lambda: {"a": np.zeros(1)})
    monkeypatch.setattr(avatar_pool, "pool_cache_file", lambda model: blocked / "pool.json")
    monkeypatch.setattr(avatar_pool, "build_avatar_pool", lambda model: [1, 2])
    with pytest.raises(assets.ModelNotFound, match="pool.json .*XDG_CACHE_HOME"):
        avatar_pool.load_avatar_pool(None)


def test_a_first_run_says_why_it_is_slow(face_model, tmp_path, monkeypatch):
    from realtime_mask.avatar_pool import pool_cache_file
    from realtime_mask.caches import first_run_notice
    from realtime_mask.face_model.correspondence import correspondence_cache_file
    from realtime_mask.face_model.eye_calibration import calibration_cache_file

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    notice = first_run_notice(face_model)
    assert notice is not None and "a few minutes" in notice and str(tmp_path) in notice
    for cache in (correspondence_cache_file, calibration_cache_file):
        cache(face_model).parent.mkdir(parents=True, exist_ok=True)
        cache(face_model).write_text("")
    assert first_run_notice(face_model, pool=False) is None
    assert first_run_notice(face_model) is not None     # the session avatars still to build
    pool_cache_file(face_model).write_text("")
    assert first_run_notice(face_model) is None
