"""Run `realtime-mask serve` as a child process (tests, benchmarks) and read its links."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

LISTEN = re.compile(r"relay listening on (\S+)")
LINK = re.compile(r"#c=([\w-]+)&t=([\w-]+)")


@dataclass
class Room:
    id: str
    patient_token: str
    doctor_token: str
    links: dict = field(default_factory=dict)


class ServerProcess:
    def __init__(self, *extra_args: str, log_path: Path | None = None) -> None:
        self.state_dir = tempfile.TemporaryDirectory(prefix="relay-state-")
        self.state_file = Path(self.state_dir.name) / "server.json"
        self.log_path = log_path or Path(self.state_dir.name) / "server.log"
        self.args = [sys.executable, "-m", "realtime_mask", "serve", "--port", "0",
                     "--state-file", str(self.state_file), *extra_args]
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.demo: Room | None = None

    def start(self, timeout: float = 600.0) -> "ServerProcess":
        """Wait for the relay's links; on a machine's first start the relay
        builds its derived caches first (a few minutes)."""
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self._log,
                                     text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        lines = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if m := LISTEN.search(line):
                self.url = m.group(1)
            if "doctor:" in line:
                (cid, pt), (_, dt) = (LINK.search(x).groups() for x in lines[-2:])
                self.demo = Room(cid, pt, dt)
                return self
        self.stop()
        raise RuntimeError(f"relay did not start: {''.join(lines)}\n{self.log_path.read_text()}")

    def new_room(self, ttl_s: float = 600.0) -> Room:
        state = json.loads(self.state_file.read_text())
        req = urllib.request.Request(
            self.url + "/api/consultations", data=json.dumps({"ttl_s": ttl_s}).encode(),
            method="POST", headers={"Authorization": f"Bearer {state['admin_secret']}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            d = json.load(resp)
        cid, pt = LINK.search(d["links"]["patient"]).groups()
        _, dt = LINK.search(d["links"]["doctor"]).groups()
        return Room(cid, pt, dt, d["links"])

    def log_text(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self.state_dir.cleanup()
