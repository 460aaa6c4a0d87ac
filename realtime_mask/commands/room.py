"""`realtime-mask room new`: create a consultation on a running relay, print its links.

Consultations live in the relay's memory, so this asks the running `serve` over
its admin endpoint, with the admin secret `serve` wrote to its state file.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

from ..cli import UsageError


def add_parser(sub) -> None:
    p = sub.add_parser("room", help="manage consultations on a running relay")
    actions = p.add_subparsers(dest="action", required=True)
    new = actions.add_parser("new", help="create a consultation and print its two links")
    new.add_argument("--ttl", default="2h", help="lifetime, e.g. 30m, 2h (default 2h)")
    new.add_argument("--server", help="relay base URL (default: from the state file)")
    new.add_argument("--state-file", type=Path, help="state file written by `serve`")
    new.add_argument("--insecure", action="store_true",
                     help="accept a self-signed HTTPS certificate")
    new.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args) -> int:
    from ..relay.rooms import parse_duration
    from ..relay.state import read_state, state_path

    try:
        ttl = parse_duration(args.ttl)
    except ValueError as e:
        raise UsageError(str(e)) from e
    state = read_state(args.state_file)
    if not (isinstance(state, dict) and {"url", "admin_secret"} <= state.keys()):
        raise UsageError("no running relay found (no readable state file at "
                         f"{args.state_file or state_path()}); "
                         "start `realtime-mask serve` first")
    url = (args.server or state["url"]).rstrip("/") + "/api/consultations"
    req = urllib.request.Request(
        url, data=json.dumps({"ttl_s": ttl}).encode(), method="POST",
        headers={"Authorization": f"Bearer {state['admin_secret']}",
                 "Content-Type": "application/json"})
    ctx = ssl._create_unverified_context() if args.insecure else None
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
            result = json.load(resp)
    except urllib.error.HTTPError as e:
        try:
            message = json.load(e).get("message", e.reason)
        except ValueError:
            message = e.reason
        raise UsageError(f"the relay refused: {message}") from e
    except (urllib.error.URLError, OSError) as e:
        raise UsageError(f"cannot reach the relay at {url}: {getattr(e, 'reason', e)}") from e
    if args.json:
        print(json.dumps(result))
    else:
        print(f"consultation {result['id']} (expires in {args.ttl})")
        print(f"  patient: {result['links']['patient']}")
        print(f"  doctor:  {result['links']['doctor']}")
    return 0
