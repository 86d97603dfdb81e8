"""What every benchmark shares: its own dev server and worker, stopped by pid, and figures.

A benchmark starts a Temporal dev server exactly as `frontdoor run` does
(frontdoor.stack.dev_server_command: WAL, synchronous=FULL) on a fresh SQLite file in a
temporary directory and on free ports (never 7233/8233/8000), runs the worker as its own
process (`python -m frontdoor.cli worker`, as in production), and stops both by their
process ids at the end, on an error, and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from frontdoor.config import Settings, TemporalSettings
from frontdoor.stack import dev_server_command, temporal_binary, wait_for_port
from frontdoor.temporal import connect, ensure_search_attributes
from models.contact import Contact
from models.roles import Actor, Role

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESERVED_PORTS = {7233, 8233, 8000}
SYNCHRONOUS_MODES = ("FULL", "NORMAL", "OFF")

RITA = Actor(username="rita", role=Role.RFS_OFFICER)
SAM = Actor(username="sam", role=Role.SOCIAL_WORKER)
TOM = Actor(username="tom", role=Role.TEAM_MANAGER)


def say(text: str) -> None:
    print(text, flush=True)


# ------------------------------------------------------------------ ports and processes
def free_port(taken: set[int] | None = None) -> int:
    """A free TCP port on 127.0.0.1, never one of the project's well-known ports."""
    taken = taken or set()
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in RESERVED_PORTS and port not in taken:
            return port
    raise SystemExit("could not find a free port on 127.0.0.1")


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in kB, from /proc/PID/status."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return out


@dataclass
class Stack:
    """The processes one benchmark started, and the temporary directory they use."""

    keep: bool = False
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="frontdoor-bench-")))
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    key: str = field(default_factory=lambda: base64.b64encode(os.urandom(32)).decode())
    # every process of a benchmark (workers, web processes, the benchmark itself) shares these
    signing_key: str = field(default_factory=lambda: base64.b64encode(os.urandom(32)).decode())
    secret_key: str = field(default_factory=lambda: base64.urlsafe_b64encode(os.urandom(48)).decode())

    def start(self, name: str, cmd: list[str], env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 (kept open for the child's life)
        # A new session: Ctrl-C reaches only this script, which then stops each child by pid.
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env or dict(os.environ),
            start_new_session=True, cwd=cwd or REPO_ROOT,
        )
        self.procs.append((name, proc))
        say(f"  started {name} (pid {proc.pid}), log {self.tmp / (name + '.log')}")
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        for name, p in list(self.procs):
            if p is proc:
                if p.poll() is None:
                    if os.environ.get("FRONTDOOR_BENCH_PROFILE"):
                        p.send_signal(signal.SIGUSR1)
                        time.sleep(3)
                    p.send_signal(signal.SIGTERM)
                    try:
                        p.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait(timeout=10)
                self.procs.remove((name, p))
                say(f"  stopped {name} (pid {p.pid})")

    def stop_all(self) -> None:
        for _, proc in reversed(list(self.procs)):
            self.stop(proc)
        if self.keep:
            say(f"  kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                log = self.tmp / f"{name}.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise SystemExit(f"{name} (pid {proc.pid}) exited with code {proc.returncode}:\n{tail}")

    # -- the dev server --------------------------------------------------------------
    def start_dev_server(self, synchronous: str = "FULL", name: str = "temporal") -> str:
        """A fresh dev server, as `frontdoor run` starts it but with another synchronous pragma if asked."""
        taken: set[int] = set()
        ports = []
        for _ in range(4):
            ports.append(free_port(taken))
            taken.add(ports[-1])
        port, ui_port, http_port, metrics_port = ports
        cmd = dev_server_command(self.tmp / f"{name}.db", "127.0.0.1", port, ui_port)
        cmd = [f"synchronous={synchronous}" if arg.startswith("synchronous=") else arg for arg in cmd]
        cmd += ["--http-port", str(http_port), "--metrics-port", str(metrics_port)]
        proc = self.start(name, cmd)
        wait_for_port("127.0.0.1", port, 60, proc)
        return f"127.0.0.1:{port}"

    # -- settings and the worker ---------------------------------------------------------
    def settings(self, address: str, task_queue: str) -> Settings:
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{self.tmp / 'frontdoor.db'}"
        return Settings(
            temporal=TemporalSettings(address=address, task_queue=task_queue),
            database_url=database_url,
            var_dir=self.tmp,
            encryption_key=self.key,
            encryption_key_id="bench-1",
            signing_key=self.signing_key,
            secret_key=self.secret_key,
        )

    def worker_env(self, settings: Settings) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FRONTDOOR_", "TEMPORAL_"))}
        env.update(
            TEMPORAL_ADDRESS=settings.temporal.address,
            FRONTDOOR_TASK_QUEUE=settings.temporal.task_queue,
            DATABASE_URL=settings.database_url,
            FRONTDOOR_VAR_DIR=str(self.tmp),
            FRONTDOOR_ENCRYPTION_KEY=self.key,
            FRONTDOOR_ENCRYPTION_KEY_ID="bench-1",
            FRONTDOOR_SIGNING_KEY=self.signing_key,
            FRONTDOOR_SECRET_KEY=self.secret_key,
            PYTHONUNBUFFERED="1",
        )
        return env

    def start_frontdoor_worker(self, settings: Settings, name: str = "worker",
                               repo: Path | None = None) -> subprocess.Popen[bytes]:
        """The production worker: `python -m frontdoor.cli worker`; with `repo`, that checkout's
        code (`-m` puts the working directory first on the path) for a before/after comparison."""
        env = self.worker_env(settings)
        if repo is not None:
            env["PYTHONPATH"] = str(repo)
        cmd = [sys.executable, "-m", "frontdoor.cli", "worker"]
        profile = os.environ.get("FRONTDOOR_BENCH_PROFILE")  # a path: the worker runs under cProfile
        if profile:  # SIGUSR1 dumps the profile (stop() sends it first when profiling)
            cmd = [sys.executable, "-c", "import asyncio, signal, cProfile; from worker import run_worker; "
                   "p = cProfile.Profile(); "
                   f"signal.signal(signal.SIGUSR1, lambda *_: p.dump_stats({f'{profile}.{name}'!r})); "
                   "p.runcall(asyncio.run, run_worker())"]
        return self.start(name, cmd, env, cwd=repo)

    def start_bare_worker(self, settings: Settings, name: str = "bare-worker") -> subprocess.Popen[bytes]:
        return self.start(name, [sys.executable, str(BENCH_DIR / "bare.py")], self.worker_env(settings))


async def connect_when_ready(settings: Settings, timeout: float = 60) -> Client:
    """Connect once the server answers, and make sure the search attributes exist."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            client = await connect(settings)
            await ensure_search_attributes(client)
            return client
        except Exception as exc:  # noqa: BLE001 (the server may still be starting)
            if time.monotonic() > deadline:
                raise SystemExit(f"Temporal at {settings.temporal.address} is not ready: {exc}") from exc
            await asyncio.sleep(0.5)


async def wait_for_poller(client: Client, task_queue: str, stack: Stack, timeout: float = 60) -> None:
    """Wait until a worker polls the task queue for workflow tasks."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        resp = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        if resp.pollers:
            return
        await asyncio.sleep(0.3)
    raise SystemExit(f"no worker polled task queue {task_queue} within {timeout:.0f}s")


def run_main(coro_fn: Callable[[Stack], Awaitable[int]], keep: bool = False) -> int:
    """Run a benchmark; whatever happens (an error, Ctrl-C, SIGTERM), stop what it started."""
    stack = Stack(keep=keep)

    def on_term(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        return asyncio.run(coro_fn(stack))
    except KeyboardInterrupt:
        say("\ninterrupted: stopping what this benchmark started")
        return 130
    finally:
        stack.stop_all()


def main(parse: Callable[[list[str]], argparse.Namespace], bench: Callable[..., Awaitable[int]]) -> NoReturn:
    """A benchmark script's entry: its options from the command line (`--keep` among them),
    then `bench(stack, args=...)` under `run_main`; exits with its status."""
    arguments = parse(sys.argv[1:])
    sys.exit(run_main(partial(bench, args=arguments), keep=arguments.keep))


def server_parser(prog: str, doc: str | None, epilog: str, *, worker: bool = True,
                  formatter_class: type[argparse.HelpFormatter] = argparse.HelpFormatter) -> argparse.ArgumentParser:
    """The parser of a benchmark that starts its own dev server (and worker) unless --address names one:
    the description is the script's first paragraph and what the script starts and stops."""
    started, them = ("dev server and worker", "them") if worker else ("dev server", "it")
    return argparse.ArgumentParser(
        prog=prog, formatter_class=formatter_class, epilog=epilog,
        description=(doc or "").split("\n\n")[0] + f" Starts its own Temporal {started} unless --address is given, "
        f"and stops {them} by pid at the end (also on Ctrl-C).",
    )


def server_options(p: argparse.ArgumentParser) -> None:
    """The options of a benchmark that starts its own dev server or uses one already running."""
    p.add_argument("--synchronous", default="FULL", choices=SYNCHRONOUS_MODES,
                   help="the dev server's SQLite synchronous pragma (default FULL, as `frontdoor run`)")
    p.add_argument("--address", help="use this Temporal server (host:port) instead of starting a dev server")


def at_least_one(text: str) -> int:
    """An argparse type: a whole number of 1 or more (runs, contacts in flight, rounds)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


# ------------------------------------------------------------------ synthetic contacts
def new_contact(consent: str = "given", prefix: str = "B") -> Contact:
    """A valid synthetic contact; a unique child name keeps history checks free of matches."""
    tag = uuid.uuid4().hex[:10]
    return Contact.model_validate(
        {
            "id": f"{prefix}-{tag}",
            "received_at": datetime.now(UTC).isoformat(),
            "source": "2A",
            "referrer": {"name": "Ms K Patel", "agency": "Stoke Primary School", "email": "kp@school.example"},
            "children": [
                {"first_name": "Zed", "last_name": f"Bench{tag}", "date_of_birth": "2015-06-01", "sex": "M"}
            ],
            "concerns": {"factors": ["16A"], "summary": "Arrives hungry"},
            "consent": {"status": consent},
        }
    )


def triage_payload(suggested: int | None, route: str = "spa", level: int = 4) -> dict[str, Any]:
    return {
        "actor": RITA, "level": level, "route": route, "rationale": "Needs an SPA decision",
        "departure_reason": None if suggested == level else "Officer's judgement on the facts",
        "history_considered": True,
    }


# ------------------------------------------------------------------ figures
def pct(values: Iterable[float], q: float) -> float:
    data = sorted(values)
    if not data:
        return float("nan")
    if len(data) == 1:
        return data[0]
    return statistics.quantiles(data, n=100, method="inclusive")[int(q) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}"


def machine() -> list[str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem_kb = int(line.split()[1])
    try:
        from importlib.metadata import version

        temporalio_version = version("temporalio")
    except Exception:  # noqa: BLE001
        temporalio_version = "?"
    try:
        cli = subprocess.run([temporal_binary(), "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:  # noqa: BLE001
        cli = "?"
    load = os.getloadavg()
    return [
        f"machine: {os.cpu_count()} cores ({cpu}), {mem_kb / 1024 / 1024:.1f} GiB RAM, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        f"python {platform.python_version()}, temporalio {temporalio_version}, {cli}",
    ]


class Progress:
    """Prints a line at most every `every` seconds while a long step runs."""

    def __init__(self, label: str, total: int, every: float = 5.0) -> None:
        self.label, self.total, self.every = label, total, every
        self.started = self.last = time.monotonic()

    def tick(self, done: int, extra: str = "") -> None:
        now = time.monotonic()
        if now - self.last >= self.every or done == self.total:
            self.last = now
            if self.total <= 0:  # no known end: only the time and the news
                say(f"  {self.label}: {now - self.started:.0f}s {extra}")
                return
            rate = done / max(now - self.started, 1e-9)
            say(f"  {self.label}: {done}/{self.total} ({rate:.1f}/s, {now - self.started:.0f}s){extra}")
