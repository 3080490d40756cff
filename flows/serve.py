"""`make serve` / `make stop`: a local Prefect server on 127.0.0.1, the work pool, every deployment of
deployments/prefect.yaml and a process worker, all started here and all ended by `stop`.

    python -m flows.serve start [--port N]    # what `make serve` runs
    python -m flows.serve stop                # what `make stop` runs
    python -m flows.serve status

The server keeps its database under `<data dir>/prefect` (PREFECT_HOME), so the schedules and the run
history survive a restart. What `start` started (process ids and their start times, the port, the API URL)
is written to `<data dir>/prefect/serve.json`; `stop` ends exactly those processes (each in its own
process group, so the worker's flow-run subprocesses go with it) and nothing that merely reuses their
ids. Nothing here needs the network beyond 127.0.0.1.

The same functions start and stop the stack of the integration test (tests/test_deployments.py)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from etl.settings import PROJECT_ROOT, Settings

__all__ = [
    "PREFECT_FILE",
    "Proc",
    "ServeState",
    "deploy",
    "free_port",
    "prefect_env",
    "start",
    "start_server",
    "start_worker",
    "stop",
    "stop_process",
    "wait_healthy",
]

PREFECT_FILE = PROJECT_ROOT / "deployments" / "prefect.yaml"
POOL = "newswatch"
DEFAULT_PORT = 4200
STATE_FILE = "serve.json"


@dataclass(frozen=True)
class Proc:
    """A process this module started: its id and its start time (from /proc), which together name it even
    after the id is reused."""

    name: str
    pid: int
    started: str | None
    log: str

    @classmethod
    def of(cls, name: str, popen: subprocess.Popen[Any], log: Path) -> Proc:
        """The record of a just-started process."""
        return cls(name, popen.pid, _start_time(popen.pid), str(log))


@dataclass(frozen=True)
class ServeState:
    """What `start` started: written to serve.json, read by `stop`."""

    api_url: str
    port: int
    prefect_home: str
    processes: tuple[Proc, ...]
    deployed: tuple[str, ...]
    not_deployed: Mapping[str, str]

    @classmethod
    def load(cls, path: Path) -> ServeState:
        """Read a state file written by `start`."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            api_url=data["api_url"],
            port=int(data["port"]),
            prefect_home=data["prefect_home"],
            processes=tuple(Proc(**p) for p in data["processes"]),
            deployed=tuple(data.get("deployed", ())),
            not_deployed=dict(data.get("not_deployed", {})),
        )

    def save(self, path: Path) -> None:
        """Write the state file."""
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat); None where there
    is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its closing parenthesis.
    return stat.rsplit(")", 1)[1].split()[19]


def free_port(preferred: int | None = None) -> int:
    """`preferred` if nothing listens on 127.0.0.1 there, else a free port the system picks."""
    if preferred:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prefect_env(prefect_home: Path, api_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for the server, the CLI calls and the worker: this process's, with Prefect pointed
    at `prefect_home` and `api_url`, and nothing that reaches beyond this machine."""
    env = dict(os.environ)
    env.update(
        {
            "PREFECT_HOME": str(prefect_home),
            "PREFECT_API_URL": api_url,
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            # Offline: no usage telemetry from the server, no promotional content in the UI.
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
            "NEWSWATCH_HOME": str(PROJECT_ROOT),
        }
    )
    env.update(extra or {})
    return env


def _prefect(*args: str) -> list[str]:
    # The prefect of this interpreter's environment (the project's .venv), whatever PATH says.
    return [sys.executable, "-m", "prefect", *args]


def _spawn(
    args: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path = PROJECT_ROOT
) -> subprocess.Popen[Any]:
    log.parent.mkdir(parents=True, exist_ok=True)
    out: IO[bytes] = log.open("ab")
    try:
        # A session of its own: `stop` signals the whole group (the worker's flow-run subprocesses too),
        # and a Ctrl-C in the terminal that ran `make serve` does not reach it.
        return subprocess.Popen(
            list(args), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    finally:
        out.close()


def start_server(
    prefect_home: Path, port: int, log: Path, *, extra_env: Mapping[str, str] | None = None
) -> subprocess.Popen[Any]:
    """Start `prefect server start` on 127.0.0.1:`port` (returns at once; see `wait_healthy`)."""
    api_url = f"http://127.0.0.1:{port}/api"
    env = prefect_env(prefect_home, api_url, extra_env)
    return _spawn(_prefect("server", "start", "--host", "127.0.0.1", "--port", str(port)), env, log)


def wait_healthy(api_url: str, proc: subprocess.Popen[Any], *, timeout_s: float = 120.0) -> float:
    """Wait until the server answers its health check; returns the seconds waited. RuntimeError when the
    server exits first or does not answer within `timeout_s`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if proc.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with {proc.returncode} before it answered")
        try:
            if httpx.get(f"{api_url}/health", timeout=2.0).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the Prefect server at {api_url} did not answer within {timeout_s:g}s")


def run_prefect(
    args: Iterable[str], env: Mapping[str, str], *, timeout_s: float = 300.0
) -> subprocess.CompletedProcess[str]:
    """Run a prefect CLI command (no prompts), output captured; CalledProcessError on failure."""
    return subprocess.run(
        _prefect("--no-prompt", *args),
        env=dict(env),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=True,
    )


def create_pool(env: Mapping[str, str], pool: str = POOL) -> None:
    """Create the process work pool `pool` unless it exists."""
    try:
        run_prefect(["work-pool", "inspect", pool], env)
    except subprocess.CalledProcessError:
        run_prefect(["work-pool", "create", pool, "--type", "process"], env)


def deployment_names(prefect_file: Path = PREFECT_FILE) -> list[str]:
    """The deployment names declared in the prefect.yaml (read with the yaml parser Prefect brings)."""
    import yaml

    data = yaml.safe_load(prefect_file.read_text(encoding="utf-8"))
    return [str(d["name"]) for d in data.get("deployments") or []]


def deploy(
    env: Mapping[str, str], names: Iterable[str] | None = None, *, prefect_file: Path = PREFECT_FILE
) -> tuple[list[str], dict[str, str]]:
    """Deploy each named deployment (default: all of them) from `prefect_file`, one at a time, so that one
    whose flow is not there (its entrypoint missing on this checkout) does not keep the others from being
    deployed. Returns (deployed, {not deployed: why})."""
    deployed: list[str] = []
    failed: dict[str, str] = {}
    for name in names or deployment_names(prefect_file):
        try:
            run_prefect(["deploy", "--prefect-file", str(prefect_file), "--name", name], env)
            deployed.append(name)
        except subprocess.CalledProcessError as exc:
            lines = [ln.strip() for ln in (exc.stdout + exc.stderr).splitlines() if ln.strip()]
            failed[name] = lines[-1] if lines else f"exit {exc.returncode}"
    return deployed, failed


def start_worker(
    env: Mapping[str, str], log: Path, pool: str = POOL, *, extra_env: Mapping[str, str] | None = None
) -> subprocess.Popen[Any]:
    """Start a process worker on `pool` (its flow runs are subprocesses with its environment)."""
    return _spawn(
        _prefect("worker", "start", "--pool", pool, "--type", "process"), {**env, **(extra_env or {})}, log
    )


def stop_process(proc: Proc, *, grace_s: float = 15.0) -> str:
    """End a recorded process and its process group: SIGTERM, then SIGKILL after `grace_s`. A process that
    is gone, or whose id now belongs to another process (another start time), is left alone."""
    if proc.started is not None and _start_time(proc.pid) != proc.started:
        return f"{proc.name} (pid {proc.pid}) had already ended"
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return f"{proc.name} (pid {proc.pid}) had already ended"
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not _alive(proc):
            return f"{proc.name} (pid {proc.pid}) stopped"
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    return f"{proc.name} (pid {proc.pid}) killed after {grace_s:g}s"


def _alive(proc: Proc) -> bool:
    # Reap it if it is our child (the test's case), so that it does not linger as a zombie.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(proc.pid, os.WNOHANG)
    try:
        os.kill(proc.pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has no start time left to compare with; it is gone for our purposes.
    return _start_time(proc.pid) == proc.started and "Z" not in _proc_state(proc.pid)


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def state_path(settings: Settings) -> Path:
    """Where `start` records what it started: `<data dir>/prefect/serve.json`."""
    return settings.data_dir.resolve() / "prefect" / STATE_FILE


def start(settings: Settings, *, port: int | None = None, echo: Any = print) -> ServeState:
    """Start the server, create the pool, deploy everything, start the worker; record it all. Refuses
    (RuntimeError) when the state file says a stack is already running."""
    path = state_path(settings)
    if path.is_file():
        old = ServeState.load(path)
        if any(_alive(p) for p in old.processes):
            raise RuntimeError(f"already serving at {old.api_url} (see {path}); `make stop` first")
    home = path.parent
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port(DEFAULT_PORT)
    api_url = f"http://127.0.0.1:{port}/api"
    env = prefect_env(home, api_url)
    processes: list[Proc] = []
    server = start_server(home, port, home / "server.log")
    processes.append(Proc.of("server", server, home / "server.log"))
    ServeState(api_url, port, str(home), tuple(processes), (), {}).save(path)
    try:
        waited = wait_healthy(api_url, server)
        echo(f"Prefect server at http://127.0.0.1:{port} (up in {waited:.0f}s; log {home / 'server.log'})")
        create_pool(env)
        deployed, failed = deploy(env)
        for name in deployed:
            echo(f"deployed {name}")
        for name, why in failed.items():
            echo(f"not deployed {name}: {why}")
        worker = start_worker(env, home / "worker.log")
        processes.append(Proc.of("worker", worker, home / "worker.log"))
    except BaseException:
        for proc in reversed(processes):
            stop_process(proc)
        path.unlink(missing_ok=True)
        raise
    state = ServeState(api_url, port, str(home), tuple(processes), tuple(deployed), failed)
    state.save(path)
    echo(f"worker on pool {POOL!r} (log {home / 'worker.log'}); state in {path}")
    echo(f"export PREFECT_API_URL={api_url}   # to use the prefect CLI against it")
    return state


def stop(settings: Settings, *, echo: Any = print) -> bool:
    """End what `start` recorded (worker first, then the server) and remove the record; False when
    nothing was recorded."""
    path = state_path(settings)
    if not path.is_file():
        echo(f"nothing to stop: no {path}")
        return False
    state = ServeState.load(path)
    for proc in reversed(state.processes):
        echo(stop_process(proc))
    path.unlink(missing_ok=True)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """The command line of `make serve` and `make stop`."""
    parser = argparse.ArgumentParser(prog="python -m flows.serve", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument(
        "--port", type=int, default=None, help=f"server port (default {DEFAULT_PORT} if free)"
    )
    args = parser.parse_args(argv)
    settings = Settings()
    if args.action == "start":
        try:
            start(settings, port=args.port)
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            print(f"serve failed: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.action == "stop":
        stop(settings)
        return 0
    path = state_path(settings)
    if not path.is_file():
        print("not serving")
        return 1
    state = ServeState.load(path)
    for proc in state.processes:
        print(f"{proc.name}: pid {proc.pid} {'running' if _alive(proc) else 'ended'} (log {proc.log})")
    print(f"api: {state.api_url}; deployed: {', '.join(state.deployed) or 'none'}")
    for name, why in state.not_deployed.items():
        print(f"not deployed {name}: {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
