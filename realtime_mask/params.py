"""MaskParams: the de-identified per-frame vector, the only input to the renderer.

Everything the doctor sees is rendered from this alone. It deliberately holds no
identity coefficients, landmarks, texture or pixels: two people making the same
movements produce the same MaskParams and therefore the same output frame.

Schema (version 5; version 1 lines read as avatar 0, versions 1-2 as no eye
covered, versions 1-3 as not reflex-anchored, versions 1-4 as lids not anchored):
  timestamp      seconds since the start of the stream
  face_present   False -> the renderer draws the neutral "no face" placeholder
  confidence     0..1, tracker confidence for this frame
  head           rotation in degrees: yaw (+ = patient turns to their left,
                 i.e. towards image right), pitch (+ = chin up), roll (+ =
                 head tilts towards image right, clockwise as seen by the viewer).
                 Translation is not kept: the head is centred at fixed scale.
  expression     ARKit-named ICT expression weights, 0..1, in EXPRESSION_NAMES
                 order. Eye-look and blink shapes are excluded: the eyes are
                 driven by the per-eye parameters below.
  left_eye/right_eye   the patient's own left/right eye (image right/left):
    yaw_deg      eyeball rotation, + = towards the patient's left (image right)
    pitch_deg    eyeball rotation, + = up
    upper_lid    upper lid margin height above the iris centre, in iris radii
                 (MRD1 / iris radius); negative when the lid covers the centre
    lower_lid    lower lid margin distance below the iris centre, in iris
                 radii (MRD2 / iris radius)
    blink        0 open .. 1 fully closed (derived from the lids, kept for
                 convenience of consumers)
    covered      true while something covers the eye (a hand or a card, as in
                 a cover test): the other values are then the last seen ones,
                 not a measurement, and the renderer draws a cover over it
    lid_anchored true when upper_lid is anchored to the lid margin found in
                 the eye's pixels (face_model/lid_anchor.py), false when it
                 rests on the landmarks alone
  reflex_anchored  true when the deviation between the two eyes' gaze is anchored
                 to their corneal light reflexes (face_model/reflex_anchor.py),
                 false when it rests on the landmarks alone
  avatar         which avatar face draws the frame: 0 = the shared mean face,
                 otherwise the seed of a random face drawn for this session
                 (random, never derived from the patient; see render/avatars.py)
"""

from __future__ import annotations

import json
from dataclasses import asdict, astuple, dataclass, field
from typing import Iterable, Iterator

import numpy as np

SCHEMA_VERSION = 5
READABLE_VERSIONS = (1, 2, 3, 4, 5)

# ICT/ARKit expression shapes carried in MaskParams. The eye shapes (blink, look,
# squint, wide) are left out on purpose: lids and eyeballs are set per eye from
# EyeParams so the two eyes can never be averaged or coupled.
EXPRESSION_NAMES: tuple[str, ...] = (
    "browDown_L", "browDown_R", "browInnerUp_L", "browInnerUp_R",
    "browOuterUp_L", "browOuterUp_R", "cheekPuff_L", "cheekPuff_R",
    "cheekSquint_L", "cheekSquint_R",
    "jawForward", "jawLeft", "jawOpen", "jawRight",
    "mouthClose", "mouthDimple_L", "mouthDimple_R", "mouthFrown_L", "mouthFrown_R",
    "mouthFunnel", "mouthLeft", "mouthLowerDown_L", "mouthLowerDown_R",
    "mouthPress_L", "mouthPress_R", "mouthPucker", "mouthRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthSmile_L", "mouthSmile_R", "mouthStretch_L", "mouthStretch_R",
    "mouthUpperUp_L", "mouthUpperUp_R", "noseSneer_L", "noseSneer_R",
)

# Typical open-eye lid positions in iris radii (MRD1 ~4 mm, MRD2 ~5.5 mm with a
# 5.85 mm iris radius); used by the neutral pose and the placeholder.
NEUTRAL_UPPER_LID = 0.75
NEUTRAL_LOWER_LID = 0.95


@dataclass
class EyeParams:
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    upper_lid: float = NEUTRAL_UPPER_LID
    lower_lid: float = NEUTRAL_LOWER_LID
    blink: float = 0.0
    covered: bool = False
    lid_anchored: bool = False

    def to_dict(self) -> dict:
        d = {k: round(float(v), 4) for k, v in asdict(self).items() if k not in _EYE_FLAGS}
        return {**d, **{k: bool(getattr(self, k)) for k in _EYE_FLAGS}}

    @classmethod
    def from_dict(cls, d: dict) -> "EyeParams":
        return cls(**{k: bool(v) if k in _EYE_FLAGS else float(v) for k, v in d.items()})


_EYE_FLAGS = ("covered", "lid_anchored")


@dataclass
class HeadPose:
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0


@dataclass
class MaskParams:
    timestamp: float = 0.0
    face_present: bool = False
    confidence: float = 0.0
    head: HeadPose = field(default_factory=HeadPose)
    expression: np.ndarray = field(
        default_factory=lambda: np.zeros(len(EXPRESSION_NAMES), np.float32))
    left_eye: EyeParams = field(default_factory=EyeParams)
    right_eye: EyeParams = field(default_factory=EyeParams)
    reflex_anchored: bool = False
    avatar: int = 0
    version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        self.expression = np.asarray(self.expression, np.float32).reshape(-1)
        if self.expression.shape != (len(EXPRESSION_NAMES),):
            raise ValueError(
                f"expression must have {len(EXPRESSION_NAMES)} weights, "
                f"got {self.expression.shape[0]}")

    @classmethod
    def no_face(cls, timestamp: float = 0.0, avatar: int = 0) -> "MaskParams":
        return cls(timestamp=timestamp, face_present=False, confidence=0.0, avatar=avatar)

    def expression_dict(self) -> dict[str, float]:
        return {n: float(w) for n, w in zip(EXPRESSION_NAMES, self.expression)}

    def to_dict(self) -> dict:
        def rounded(d: dict) -> dict:
            return {k: round(float(v), 4) for k, v in d.items()}

        return {
            "version": self.version,
            "timestamp": round(float(self.timestamp), 6),
            "face_present": bool(self.face_present),
            "confidence": round(float(self.confidence), 4),
            "head": rounded(asdict(self.head)),
            "expression": rounded(self.expression_dict()),
            "left_eye": self.left_eye.to_dict(),
            "right_eye": self.right_eye.to_dict(),
            "reflex_anchored": bool(self.reflex_anchored),
            "avatar": int(self.avatar),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict) -> "MaskParams":
        version = int(d.get("version", -1))
        if version not in READABLE_VERSIONS:
            raise ValueError(f"unsupported MaskParams version {version}, "
                             f"this build reads versions {READABLE_VERSIONS}")
        expr = d.get("expression", {})
        unknown = set(expr) - set(EXPRESSION_NAMES)
        if unknown:
            raise ValueError(f"unknown expression names: {sorted(unknown)}")
        return cls(
            timestamp=float(d["timestamp"]),
            face_present=bool(d["face_present"]),
            confidence=float(d.get("confidence", 0.0)),
            head=HeadPose(**{k: float(v) for k, v in d["head"].items()}),
            expression=np.array([expr.get(n, 0.0) for n in EXPRESSION_NAMES], np.float32),
            left_eye=EyeParams.from_dict(d["left_eye"]),
            right_eye=EyeParams.from_dict(d["right_eye"]),
            reflex_anchored=bool(d.get("reflex_anchored", False)),
            avatar=int(d.get("avatar", 0)),
        )

    @classmethod
    def from_json(cls, line: str) -> "MaskParams":
        return cls.from_dict(json.loads(line))

    def rounded(self) -> "MaskParams":
        """The exact value that survives a JSON round trip (for re-render checks)."""
        return MaskParams.from_dict(self.to_dict())


def write_jsonl(path, params: Iterable[MaskParams]) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for p in params:
            f.write(p.to_json() + "\n")
            n += 1
    return n


def _check_finite(params: MaskParams) -> None:
    """Python's json reads NaN and Infinity. A masker never writes them (the
    renderer refuses them); in a file they would pass for gaps in the track."""
    eyes = (params.left_eye, params.right_eye)
    numbers = [params.timestamp, params.confidence, *astuple(params.head),
               *(v for e in eyes for v in (e.yaw_deg, e.pitch_deg, e.upper_lid,
                                           e.lower_lid, e.blink))]
    if not (np.isfinite(numbers).all() and np.isfinite(params.expression).all()):
        raise ValueError("a value is NaN or infinite")


def read_jsonl(path) -> Iterator[MaskParams]:
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                params = MaskParams.from_json(line)
                _check_finite(params)
                yield params
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"{path}:{lineno}: bad MaskParams line: {e}") from e
