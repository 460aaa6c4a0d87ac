"""`realtime-mask` entry point. Each subcommand lives in realtime_mask/commands/<name>.py
and exposes `add_parser(subparsers)` and `run(args) -> int`."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("assets", "mask", "serve", "room", "synth", "report")


class UsageError(Exception):
    """A bad input from the user: printed as one line, exit code 2."""


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(
        prog="realtime-mask",
        description="Live de-identifying face mask for telemedicine video.")
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"realtime_mask.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"realtime_mask.commands.{name}":
                continue  # command not part of this build
            raise
        module.add_parser(sub)
        modules[name] = module
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args) or 0)
    except UsageError as e:
        print(f"realtime-mask {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
