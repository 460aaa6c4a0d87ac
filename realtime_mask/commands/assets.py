"""`realtime-mask assets`: where the avatar model came from and the cache state."""

from __future__ import annotations

from ..cli import UsageError
from ..face_model import assets


def add_parser(sub) -> None:
    p = sub.add_parser("assets", help="show the avatar model's origin and cache state")
    p.add_argument("--build", action="store_true", help="build the cache now if it is missing")


def run(args) -> int:
    if args.build:
        try:
            assets.load_face_model()
        except assets.ModelNotFound as e:
            raise UsageError(str(e)) from e
    print(assets.describe_assets())
    return 0
