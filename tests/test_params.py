import numpy as np
import pytest

from realtime_mask.params import (EXPRESSION_NAMES, SCHEMA_VERSION, EyeParams, HeadPose, MaskParams,
                                  read_jsonl, write_jsonl)


def sample() -> MaskParams:
    rng = np.random.default_rng(1)
    return MaskParams(timestamp=1.25, face_present=True, confidence=0.9,
                      head=HeadPose(10.0, -5.0, 2.0),
                      expression=rng.uniform(0, 1, len(EXPRESSION_NAMES)),
                      left_eye=EyeParams(12.0, -3.0, 0.4, 1.0, 0.1),
                      right_eye=EyeParams(-4.0, 2.0, 0.9, 0.8, 0.0))


def test_json_roundtrip_keeps_each_eye_separate(tmp_path):
    p = sample()
    path = tmp_path / "p.jsonl"
    assert write_jsonl(path, [p, MaskParams.no_face(2.0)]) == 2
    back = list(read_jsonl(path))
    assert back[0].left_eye.yaw_deg == 12.0 and back[0].right_eye.yaw_deg == -4.0
    assert back[0].left_eye.upper_lid == pytest.approx(0.4)
    np.testing.assert_allclose(back[0].expression, p.expression, atol=1e-4)
    assert back[1].face_present is False
    assert back[0].rounded().to_json() == back[0].to_json()


def test_schema_holds_no_identity_or_landmarks():
    keys = set(sample().to_dict())
    assert keys == {"version", "timestamp", "face_present", "confidence", "head",
                    "expression", "left_eye", "right_eye", "reflex_anchored", "avatar"}
    assert not any(n.startswith("identity") for n in sample().to_dict()["expression"])


def test_bad_lines_are_reported_with_position(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(sample().to_json() + "\n" + '{"version": 99}\n')
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        list(read_jsonl(path))
    with pytest.raises(ValueError, match="expression"):
        MaskParams(expression=np.zeros(3))


@pytest.mark.parametrize("edit", [
    lambda d: d["left_eye"].update(yaw_deg=float("nan")),
    lambda d: d["head"].update(roll_deg=float("inf")),
    lambda d: d["expression"].update(jawOpen=float("nan")),
])
def test_nan_and_infinity_in_a_file_are_bad_lines_not_gaps(tmp_path, edit):
    """Python's json reads NaN and Infinity; in a track they would pass for
    missing frames and shape the report."""
    import json
    d = sample().to_dict()
    edit(d)
    path = tmp_path / "t.jsonl"
    path.write_text(sample().to_json() + "\n" + json.dumps(d) + "\n")
    with pytest.raises(ValueError, match="t.jsonl:2: .*NaN or infinite"):
        list(read_jsonl(path))


def test_version_1_lines_read_as_the_shared_avatar():
    d = sample().to_dict()
    d["version"] = 1
    del d["avatar"]
    p = MaskParams.from_dict(d)
    assert p.avatar == 0 and p.version == SCHEMA_VERSION and not p.right_eye.covered
    assert MaskParams.from_json(MaskParams(avatar=77).to_json()).avatar == 77


def test_reflex_anchor_flag_round_trips_and_older_lines_read_as_unanchored():
    p = sample()
    p.reflex_anchored = True
    assert MaskParams.from_json(p.to_json()).reflex_anchored is True
    d = p.to_dict()
    d["version"] = 3
    del d["reflex_anchored"]
    assert MaskParams.from_dict(d).reflex_anchored is False


def test_lid_anchor_flag_round_trips_per_eye_and_older_lines_read_as_unanchored():
    p = sample()
    p.left_eye.lid_anchored = True
    back = MaskParams.from_json(p.to_json())
    assert back.left_eye.lid_anchored is True and back.right_eye.lid_anchored is False
    d = p.to_dict()
    d["version"] = 4
    del d["left_eye"]["lid_anchored"], d["right_eye"]["lid_anchored"]
    assert MaskParams.from_dict(d).left_eye.lid_anchored is False
