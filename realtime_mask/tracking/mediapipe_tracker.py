"""MediaPipe FaceMesh (CPU) as a Tracker: 468 face points + 10 iris points."""

from __future__ import annotations

import numpy as np

from .landmarks import N_LANDMARKS, Landmarks

# A NormalizedLandmarkList in protobuf wire format, when every landmark carries
# exactly x, y and z (FaceMesh sets no visibility or presence): field 1 (tag
# 0x0a), length 15, then x, y, z as fixed32 floats (tags 0x0d, 0x15, 0x1d).
# Reading the serialised bytes costs ~0.03 ms against ~0.5 ms for 1,434
# attribute reads through the protobuf objects.
_WIRE_LANDMARK = np.dtype([("tag", "u1"), ("size", "u1"), ("tx", "u1"), ("x", "<f4"),
                           ("ty", "u1"), ("y", "<f4"), ("tz", "u1"), ("z", "<f4")])
_WIRE_TAGS = {"tag": 0x0A, "size": 15, "tx": 0x0D, "ty": 0x15, "tz": 0x1D}


def landmark_array(wire: bytes) -> np.ndarray:
    """(N, 3) float32 x, y, z of a serialised NormalizedLandmarkList."""
    if len(wire) % _WIRE_LANDMARK.itemsize == 0:
        rec = np.frombuffer(wire, _WIRE_LANDMARK)
        if all((rec[name] == value).all() for name, value in _WIRE_TAGS.items()):
            return np.stack([rec["x"], rec["y"], rec["z"]], axis=1)
    # Another layout (a coordinate of exactly 0.0 is left out of the wire
    # format, or extra fields are set): parse it.
    from mediapipe.framework.formats import landmark_pb2

    landmarks = landmark_pb2.NormalizedLandmarkList.FromString(wire).landmark
    return np.array([(p.x, p.y, p.z) for p in landmarks], np.float32)


def first_face_wire(mesh, rgb: np.ndarray) -> bytes | None:
    """What FaceMesh.process(rgb) computes, as the first face's landmark list
    in protobuf wire format (None without a face).

    process() builds a namedtuple class and parses every landmark list into
    protobuf objects on each call (0.3 ms a frame on this CPU); this feeds the
    graph the same packet and takes the serialised list as the graph gives it.
    It uses SolutionBase's private members, so mediapipe is pinned
    (pyproject.toml) and tests/test_tracking.py checks it against process()."""
    from mediapipe.python import packet_creator
    from mediapipe.python._framework_bindings import _packet_getter
    from mediapipe.python._framework_bindings.image_frame import ImageFormat

    mesh._graph_outputs.clear()
    mesh._simulated_timestamp += 33333     # as process(): 30 fps
    packet = packet_creator.create_image_frame(rgb, image_format=ImageFormat.SRGB)
    mesh._graph.add_packet_to_input_stream(stream="image",
                                           packet=packet.at(mesh._simulated_timestamp))
    mesh._graph.wait_until_idle()
    out = mesh._graph_outputs.get("multi_face_landmarks")
    if out is None or out.is_empty():
        return None
    faces = _packet_getter._get_serialized_proto_list(out)
    return faces[0] if faces else None


class MediaPipeTracker:
    """Tracking mode (static_image_mode=False) for video: the face detector only
    runs when the mesh loses the face. Static mode for unrelated single images."""

    def __init__(self, static_image_mode: bool = False, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5):
        self.static_image_mode = static_image_mode
        self._conf = (min_detection_confidence, min_tracking_confidence)
        self._mesh = None
        self.reset()

    def _open(self):
        import mediapipe as mp

        return mp.solutions.face_mesh.FaceMesh(
            static_image_mode=self.static_image_mode, max_num_faces=1, refine_landmarks=True,
            min_detection_confidence=self._conf[0], min_tracking_confidence=self._conf[1])

    def track(self, rgb: np.ndarray) -> Landmarks | None:
        if self._mesh is None:
            raise RuntimeError("MediaPipeTracker is closed")
        if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 \
                or rgb.dtype != np.uint8:
            got = getattr(rgb, "shape", type(rgb).__name__)
            raise ValueError(f"track() needs an HxWx3 uint8 RGB frame, got {got}")
        h, w = rgb.shape[:2]
        wire = first_face_wire(self._mesh, np.ascontiguousarray(rgb))
        if wire is None:
            return None
        pts = landmark_array(wire)
        if len(pts) != N_LANDMARKS:
            return None
        # MediaPipe normalises x by width, y by height and z roughly like x.
        pts *= np.array([w, h, w], np.float32)
        # The legacy FaceMesh solution reports no per-face score: a face below
        # min_tracking_confidence is simply not returned, so a returned one is 1.0.
        return Landmarks(pts, w, h, 1.0)

    def reset(self) -> None:
        """Forget the tracked face (new session): the next frame runs detection."""
        self.close()
        self._mesh = self._open()

    def close(self) -> None:
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None

    def __enter__(self) -> "MediaPipeTracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
