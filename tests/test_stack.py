"""`frontdoor run` with real processes (issue 9, sections 5 and 6), each in a temporary var/
on free ports: a worker killed with -9 comes back; one that keeps dying stops the stack;
a failure at start stops every child; a port already answering is not used without
--use-existing; var/ is private and no token reaches a log."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers import delete_schedules

ROOT = Path(__file__).resolve().parent.parent
STARTED = re.compile(r"started (\w+) \(pid (\d+)\)")


def free_port(span: int = 0) -> int:
    """A port that is free, and (with span) so is port + span (the dev server's UI)."""
    for _ in range(200):
        port = random.randint(21000, 29000)
        if all(_free(p) for p in ({port, port + span} if span else {port})):
            return port
    raise RuntimeError("no free port")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of a child we did not start is gone for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except OSError:
        return False


class Run:
    """`frontdoor run` as a real process; its output is collected line by line."""

    def __init__(self, var: Path, *args: str, **env: str) -> None:
        self.var = var
        base = {k: v for k, v in os.environ.items() if not k.startswith(("FRONTDOOR_", "TEMPORAL_", "DATABASE_URL"))}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "frontdoor.cli", "run", *args], cwd=ROOT, env=base | {"FRONTDOOR_VAR_DIR": str(var)} | env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 90, start: int = 0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[start:]:
                match = re.search(pattern, line)
                if match:
                    return match
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s; output:\n{self.text}")

    def pids(self) -> dict[str, int]:
        """The latest pid of each child."""
        return {m.group(1): int(m.group(2)) for line in self.lines if (m := STARTED.search(line))}

    def all_pids(self) -> list[int]:
        return [int(m.group(2)) for line in self.lines if (m := STARTED.search(line))]

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for pid in self.all_pids():  # never leave a child behind, whatever the test found
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@contextmanager
def stack(tmp_path: Path, *args: str, **env: str) -> Iterator[Run]:
    temporal = free_port(span=1000)
    run = Run(tmp_path / "var", *args, TEMPORAL_ADDRESS=f"127.0.0.1:{temporal}",
              FRONTDOOR_WEB_PORT=str(free_port()), **env)
    try:
        yield run
    finally:
        run.stop()


def test_a_worker_killed_with_minus_9_comes_back_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    with stack(tmp_path) as run:
        run.wait_for("frontdoor is running")
        first = run.pids()
        assert set(first) == {"temporal", "worker", "web"}
        # where things are, as they are (FRONTDOOR_VAR_DIR), and how to fill the reports
        assert f"log {run.var / 'worker.log'}" in run.text and f"data in {run.var / 'temporal.db'}" in run.text
        assert "frontdoor demo --months 6" in run.text
        mark = len(run.lines)
        os.kill(first["worker"], signal.SIGKILL)
        run.wait_for(r"worker \(pid \d+\) exited with code -9; restarting it in 0.5s", 20, start=mark)
        again = int(run.wait_for(r"started worker \(pid (\d+)\)", 20, start=mark).group(1))
        assert again != first["worker"]
        time.sleep(2)
        assert alive(again) and alive(first["temporal"]) and alive(first["web"])
        assert "worker.log" in run.text

        var = run.var
        assert stat.S_IMODE(var.stat().st_mode) == 0o700
        files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in var.iterdir() if p.is_file()}
        for name in ("frontdoor.db", "temporal.db", "worker.log", "web.log", "temporal.log", "encryption.key",
                     "signing.key", "secret.key", "run.env"):
            assert files.get(name) == 0o600, (name, files)
        assert not [n for n, mode in files.items() if mode & 0o077], files
        web_log = (var / "web.log").read_text()
        assert "password 'demo'" in web_log and "fd_" not in web_log and "fd_" not in run.text

        os.kill(run.proc.pid, signal.SIGINT)
        assert run.wait(40) == 0
        pids = run.all_pids()
    assert not [p for p in pids if alive(p)]
    assert not (tmp_path / "var" / "run.env").exists()


def test_a_child_that_keeps_dying_stops_the_stack(tmp_path: Path) -> None:
    with stack(tmp_path) as run:
        run.wait_for("frontdoor is running")
        for n in range(5):
            mark = len(run.lines)
            pid = run.pids()["worker"]
            time.sleep(0.3)
            os.kill(pid, signal.SIGKILL)
            if n < 4:
                run.wait_for(r"started worker", 30, start=mark)
        run.wait_for(r"worker \(pid \d+\) exited with code -9, its 5th exit in 60s: giving up", 30)
        assert run.wait(40) == 1
        pids = run.all_pids()
    assert not [p for p in pids if alive(p)]


def test_a_failure_at_start_stops_every_child_it_started(tmp_path: Path) -> None:
    # the worker and the web app cannot read this CA file, so both exit as they start
    with stack(tmp_path, FRONTDOOR_TEMPORAL_TLS_CA=str(tmp_path / "missing-ca.pem")) as run:
        code = run.wait(90)
        pids = run.all_pids()
        assert code == 1, run.text
        assert "exited at start" in run.text and "Stopping what was started" in run.text
        assert run.pids().keys() >= {"temporal", "worker"}
    assert not [p for p in pids if alive(p)]


def test_a_port_already_answering_is_not_used_without_use_existing(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        run = Run(tmp_path / "var", TEMPORAL_ADDRESS=f"127.0.0.1:{port}", FRONTDOOR_WEB_PORT=str(free_port()))
        try:
            assert run.wait(30) == 2
        finally:
            run.stop()
    finally:
        listener.close()
    assert "already answering on 127.0.0.1" in run.text and "--use-existing" in run.text
    assert not run.all_pids() and not (tmp_path / "var" / "frontdoor.db").exists()


async def test_use_existing_says_so_and_children_do_not_outlive_a_killed_launcher(tmp_path: Path, dev_env) -> None:
    address = dev_env.client.service_client.config.target_host
    run = Run(tmp_path / "var", "--use-existing", TEMPORAL_ADDRESS=address, FRONTDOOR_WEB_PORT=str(free_port()),
              FRONTDOOR_TASK_QUEUE=f"stack-{random.randint(0, 10**9)}")
    try:
        await asyncio.to_thread(run.wait_for, "frontdoor is running")
        assert f"USING THE TEMPORAL SERVER ALREADY ANSWERING ON {address}" in run.text
        pids = run.pids()
        assert set(pids) == {"worker", "web"}  # no server of its own
        os.kill(run.proc.pid, signal.SIGKILL)  # the launcher dies without a chance to clean up
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and [p for p in pids.values() if alive(p)]:
            await asyncio.sleep(0.2)
        assert not [p for p in pids.values() if alive(p)]
    finally:
        run.stop()
        await delete_schedules(dev_env.client)  # its worker made them on the shared server
    await dev_env.client.count_workflows()  # the server it borrowed is left running
