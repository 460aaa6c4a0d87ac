"""Find the ICT Face Model Light, build a compact runtime cache from it, load it.

Resolution order for the model source:
  1. $REALTIME_MASK_ICT: an unpacked ICT-FaceKit folder (or its FaceXModel/
     folder) or the ict-facekit-light .tar.xz
  2. ../shared/assets/ict-facekit-light.tar.xz next to the working directory or
     the repository
  3. download of FaceXModel/ from the upstream repository at a pinned commit

The cache ($XDG_CACHE_HOME/realtime-mask or ~/.cache/realtime-mask) holds one
.npz per source content hash, so later starts only read a compact file.
Nothing derived from ICT is ever written into the repository.
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import os
import tarfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..paths import cache_dir
from .obj import read_mesh, read_positions

ICT_REPO = "ICT-VGL/ICT-FaceKit"
ICT_COMMIT = "da5f95a607f5e6b37755b38d3385d7f2853732e5"
ICT_RAW_URL = f"https://raw.githubusercontent.com/{ICT_REPO}/{ICT_COMMIT}/FaceXModel/"
CACHE_FORMAT = 1
N_IDENTITY = 100

# Vertex ranges [start, end) of the ICT parts (from the ICT README).
PARTS: dict[str, tuple[int, int]] = {
    "face": (0, 9409),
    "head_neck": (9409, 11248),
    "mouth_socket": (11248, 13294),
    "eye_socket_left": (13294, 13678),
    "eye_socket_right": (13678, 14062),
    "gums_tongue": (14062, 17039),
    "teeth": (17039, 21451),
    "sclera_left": (21451, 22221),
    "iris_left": (22221, 23021),
    "sclera_right": (23021, 23791),
    "iris_right": (23791, 24591),
    "lacrimal_left": (24591, 24795),
    "lacrimal_right": (24795, 24999),
    "eye_blend_left": (24999, 25023),
    "eye_blend_right": (25023, 25047),
    "eye_occlusion_left": (25047, 25199),
    "eye_occlusion_right": (25199, 25351),
    "eyelashes_left": (25351, 26035),
    "eyelashes_right": (26035, 26719),
}
# ICT names its parts from the model's point of view: "left" is the face's own
# left, which appears on the image right in a frontal view.

MULTIPIE68 = (
    1225, 1888, 1052, 367, 1719, 1722, 2199, 1447, 966, 3661, 4390, 3927, 3924,
    2608, 3272, 4088, 3443, 268, 493, 1914, 2044, 1401, 3615, 4240, 4114, 2734,
    2509, 978, 4527, 4942, 4857, 1140, 2075, 1147, 4269, 3360, 1507, 1542, 1537,
    1528, 1518, 1511, 3742, 3751, 3756, 3721, 3725, 3732, 5708, 5695, 2081, 0,
    4275, 6200, 6213, 6346, 6461, 5518, 5957, 5841, 5702, 5711, 5533, 6216,
    6207, 6470, 5517, 5966)


class ModelNotFound(RuntimeError):
    """The avatar model cannot be had: not found, not readable, or its caches
    cannot be written. The commands print it as one line."""




HOW_TO_PROVIDE = (
    "The ICT Face Model Light (MIT) is needed. Provide it with "
    "REALTIME_MASK_ICT=/path/to/ict-facekit-light.tar.xz (or an unpacked ICT-FaceKit "
    f"folder), or allow the download from github.com/{ICT_REPO} at commit {ICT_COMMIT[:10]}.")


@dataclass
class FaceModel:
    """The runtime ICT model. Shapes: N vertices, E expressions, T triangles."""
    neutral: np.ndarray            # (N, 3) float32, centimetres
    expression_names: tuple[str, ...]
    expression_deltas: np.ndarray  # (E, N, 3) float32
    identity_deltas: np.ndarray    # (100, N, 3) float16
    tri_v: np.ndarray              # (T, 3) int32 vertex indices
    source: str
    cache_file: Path

    def expression_index(self, name: str) -> int:
        return self.expression_names.index(name)

    def triangles_of(self, part: str) -> np.ndarray:
        """Triangles whose first vertex lies in the named part."""
        a, b = PARTS[part]
        v0 = self.tri_v[:, 0]
        return np.nonzero((v0 >= a) & (v0 < b))[0]


def cached_arrays(path: Path, build, rebuild: bool = False) -> dict[str, np.ndarray]:
    """The named arrays saved at path, or build() -> {name: array}, saved and
    returned."""
    if path.is_file() and not rebuild:
        with np.load(path) as z:
            return {name: z[name] for name in z.files}
    arrays = build()
    write_cache(path, lambda tmp: np.savez(tmp, **arrays))
    return arrays


def write_cache(path: Path, write) -> None:
    """write(tmp) into a file of this process's own, renamed into place, so
    concurrent builders never read a half-written cache; a folder this user
    cannot write is one ModelNotFound naming the fix."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        tmp.replace(path)
    except OSError as e:
        raise ModelNotFound(f"cannot write the cache file {path} ({e.strerror or e}); set "
                            "XDG_CACHE_HOME to a folder this user can write") from e


# ---------------------------------------------------------------- sources

class _Source:
    """Read ICT files by name from a folder, a tarball or the upstream repo."""

    def __init__(self, kind: str, location: str):
        self.kind, self.location = kind, location

    def describe(self) -> str:
        return f"{self.kind}: {self.location}"

    def content_hash(self) -> str:
        h = hashlib.sha256(f"format{CACHE_FORMAT}".encode())
        if self.kind == "tarball":
            with open(self.location, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        elif self.kind == "folder":
            # The neutral mesh and the index file by content, the rest by name and size.
            for name in sorted(os.listdir(self.location)):
                p = Path(self.location, name)
                h.update(name.encode() + str(p.stat().st_size).encode())
            h.update(self.read("generic_neutral_mesh.obj"))
        else:
            h.update(ICT_COMMIT.encode())
        return h.hexdigest()[:16]

    def read(self, name: str) -> bytes:
        return dict(self.files([name]))[name]

    def files(self, names: list[str]):
        """Yield (name, bytes) for the wanted FaceXModel files. A tarball is read
        in one sequential pass: random access into .tar.xz decompresses from the
        start every time."""
        wanted = set(names)
        if self.kind == "tarball":
            try:
                with tarfile.open(self.location, "r|xz") as tar:
                    for m in tar:
                        name = Path(m.name).name
                        if m.isfile() and "/FaceXModel/" in "/" + m.name and name in wanted:
                            wanted.discard(name)
                            yield name, tar.extractfile(m).read()
            except (tarfile.TarError, EOFError, lzma.LZMAError) as e:
                raise ModelNotFound(f"{self.location} is not a readable .tar.xz ({e}). "
                                    + HOW_TO_PROVIDE) from e
            if wanted:
                raise ModelNotFound(f"{self.location} lacks FaceXModel/{sorted(wanted)[0]}. "
                                    + HOW_TO_PROVIDE)
            return
        for name in names:
            if self.kind == "folder":
                yield name, Path(self.location, name).read_bytes()
            else:
                yield name, _download(ICT_RAW_URL + name)


def _download(url: str) -> bytes:
    from tqdm import tqdm

    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            total = int(r.headers.get("Content-Length") or 0)
            buf = io.BytesIO()
            with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1],
                      leave=False) as bar:
                for chunk in iter(lambda: r.read(1 << 16), b""):
                    buf.write(chunk)
                    bar.update(len(chunk))
            return buf.getvalue()
    except OSError as e:
        raise ModelNotFound(f"could not download {url}: {e}. " + HOW_TO_PROVIDE) from e


def _shared_tarball_candidates() -> list[Path]:
    repo_root = Path(__file__).resolve().parents[2]
    rel = Path("..", "shared", "assets", "ict-facekit-light.tar.xz")
    return [Path.cwd() / rel, repo_root / rel]


def find_source(allow_download: bool = True) -> _Source:
    env = os.environ.get("REALTIME_MASK_ICT")
    if env:
        p = Path(env).expanduser()
        if p.is_file():
            return _Source("tarball", str(p.resolve()))
        for folder in (p / "FaceXModel", p / "ICT-FaceKit" / "FaceXModel", p):
            if (folder / "generic_neutral_mesh.obj").is_file():
                return _Source("folder", str(folder.resolve()))
        raise ModelNotFound(f"REALTIME_MASK_ICT={env} is neither the ICT tarball nor a folder "
                            "holding FaceXModel/generic_neutral_mesh.obj. " + HOW_TO_PROVIDE)
    for cand in _shared_tarball_candidates():
        if cand.is_file():
            return _Source("tarball", str(cand.resolve()))
    if not allow_download:
        raise ModelNotFound("no local copy of the ICT model found. " + HOW_TO_PROVIDE)
    return _Source("download", f"github.com/{ICT_REPO}@{ICT_COMMIT[:10]}")


# ---------------------------------------------------------------- building

def _build(src: _Source) -> dict[str, np.ndarray]:
    from tqdm import tqdm

    base = dict(src.files(["vertex_indices.json", "generic_neutral_mesh.obj"]))
    names = json.loads(base["vertex_indices.json"])["expressions"]
    pos, _, tri_v, _, _ = read_mesh(base["generic_neutral_mesh.obj"])
    expr = np.empty((len(names), *pos.shape), np.float32)
    ident = np.empty((N_IDENTITY, *pos.shape), np.float16)
    slots = {f"{n}.obj": (expr, i) for i, n in enumerate(names)}
    slots.update({f"identity{i:03d}.obj": (ident, i) for i in range(N_IDENTITY)})
    files = src.files(list(slots))
    for fname, data in tqdm(files, total=len(slots), desc="building avatar cache", unit="mesh"):
        delta = read_positions(data) - pos
        if delta.shape != pos.shape:
            raise ModelNotFound(f"{fname} does not share the neutral mesh topology")
        target, i = slots[fname]
        target[i] = delta
    return {"neutral": pos, "tri_v": tri_v, "expression_names": np.array(names),
            "expression_deltas": expr, "identity_deltas": ident,
            "source": np.array(src.describe())}


def cache_file_for(src: _Source) -> Path:
    return cache_dir() / f"ict-{src.content_hash()}.npz"


_LOADED: dict[Path, FaceModel] = {}


def load_face_model(allow_download: bool = True) -> FaceModel:
    """The runtime model, building the cache on first use. Loaded once per process
    (read-only arrays, shared safely between maskers)."""
    src = find_source(allow_download)
    path = cache_file_for(src)
    if path in _LOADED:
        return _LOADED[path]

    def build() -> dict[str, np.ndarray]:
        t0 = time.perf_counter()
        arrays = _build(src)
        print(f"realtime-mask: built avatar cache {path} in {time.perf_counter() - t0:.1f} s")
        return arrays

    z = cached_arrays(path, build)
    model = FaceModel(
        neutral=z["neutral"], expression_names=tuple(str(s) for s in z["expression_names"]),
        expression_deltas=z["expression_deltas"], identity_deltas=z["identity_deltas"],
        tri_v=z["tri_v"], source=str(z["source"]), cache_file=path)
    for arr in (model.neutral, model.expression_deltas, model.identity_deltas):
        arr.setflags(write=False)
    _LOADED[path] = model
    return model


def describe_assets() -> str:
    """Human-readable provenance and cache state, for `realtime-mask assets`."""
    lines = []
    src = find_source()     # a $REALTIME_MASK_ICT that holds no model: ModelNotFound
    if src.kind == "download":
        lines.append("model source : none local; will download "
                     f"FaceXModel/ from github.com/{ICT_REPO} at {ICT_COMMIT}")
    else:
        lines.append(f"model source : {src.describe()}")
        path = cache_file_for(src)
        state = (f"built, {path.stat().st_size / 1e6:.1f} MB" if path.is_file()
                 else "not built yet (built on first use)")
        lines.append(f"cache file   : {path} ({state})")
    lines.append(f"cache folder : {cache_dir()}")
    lines.append("licence      : ICT Face Model Light, MIT (USC Institute for Creative Technologies)")
    return "\n".join(lines)
