"""The processes a benchmark measures: one ASGI server (uvicorn) and N Celery workers, started
as subprocesses on the same database and broker as the bench itself, on a queue of their own
so that no other worker takes their tasks. `Stack` is a context manager: whatever happens,
leaving it terminates every process it started (and kills those that do not stop)."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
from django.conf import settings


class StackError(Exception):
    """A process did not come up; the message carries the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    args: Sequence[str] = ()  # what it was started with (Stack.respawn starts it again)
    nice: int = 0

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def describe_exit(self) -> str:
        return f"{self.name} exited with code {self.popen.returncode}:\n{self.tail()}"


class Stack:
    """`uvicorn controltower.asgi:application` and `workers` Celery workers on `queue`."""

    def __init__(
        self,
        *,
        queue: str,
        workers: int = 1,
        pool: str = "prefork",
        web_workers: int = 1,
        database_url: str,
        redis_url: str,
        store_only: bool = False,
        settings_module: str = "controltower.settings.base",
        extra_env: dict[str, str] | None = None,
        worker_nice: int = 0,
        beat: bool = False,
    ) -> None:
        self.queue, self.workers, self.pool, self.web_workers = queue, workers, pool, web_workers
        # `celery beat` as deployed (docker/entrypoints/beat.sh): the heal sweep and the others.
        self.beat = beat
        # The regular workers' CPU priority below the web's and the early lane's, as deployed
        # (docker/compose.yaml WORKER_NICE): bulk batches yield the CPU to latency-bound work.
        self.worker_nice = worker_nice
        # --store-only: a worker without the stages after the store (apps/bench/worker.py).
        celery = ["-m", "celery", "-A", "controltower", "worker"]
        self.worker_module = ["-m", "apps.bench.worker"] if store_only else celery
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_QUEUE": queue,
            # BENCH_LOG_LEVEL=INFO keeps the workers' "pipeline batch" lines (time per stage), and
            # with BENCH_KEEP_LOGS=1 the log directory is kept after the run to read them.
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            # As in production: with DEBUG on, Django keeps every SQL statement in memory.
            "DJANGO_DEBUG": "false",
            **(extra_env or {}),
        }
        self.logdir = Path(tempfile.mkdtemp(prefix="ct-bench-"))
        self.procs: list[Proc] = []
        self.failed = False
        host = socket.gethostname()
        self.worker_names = [f"{queue}-{i}@{host}" for i in range(1, workers + 1)]
        # The early lane's worker (settings.INGEST_EARLY_QUEUE), as a deployment runs one.
        self.early_name = f"{queue}-early@{host}"

    # --- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.failed = self.failed or exc_type is not None
        self.stop()

    def _spawn(self, name: str, args: Sequence[str], *, nice: int = 0) -> Proc:
        log = self.logdir / f"{name}.log"
        with log.open("ab") as out:  # the child keeps its own descriptor; a respawn appends
            popen = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
                [*(["nice", "-n", str(nice)] if nice else []), sys.executable, *args],
                cwd=settings.BASE_DIR,
                # PGAPPNAME: pg_stat_activity names each process's connections (ct-web, ct-worker-1…).
                env={"PGAPPNAME": f"ct-{name}", **self.env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        proc = Proc(name, popen, log, tuple(args), nice)
        self.procs.append(proc)
        return proc

    def start(self) -> None:
        self._spawn(
            "web",
            [
                "-m", "uvicorn", "controltower.asgi:application",
                "--host", "127.0.0.1",
                "--port", str(self.port),
                "--workers", str(self.web_workers),
                "--log-level", "warning",
                "--no-access-log",
            ],
        )  # fmt: skip
        for i, node in enumerate(self.worker_names, start=1):
            pool_args = ["--pool", self.pool] + (["--concurrency", "1"] if self.pool == "prefork" else [])
            self._spawn(
                f"worker-{i}",
                [
                    *self.worker_module,
                    *pool_args,
                    "-Q", self.queue,
                    "-n", node,
                    "--without-gossip", "--without-mingle", "--without-heartbeat",
                    "-l", "WARNING",
                ],
                nice=self.worker_nice,
            )  # fmt: skip
        self._spawn(
            "worker-early",
            [
                *self.worker_module,
                "--pool", "prefork", "--concurrency", "1",
                "-Q", f"{self.queue}-early",
                "-n", self.early_name,
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "-l", "WARNING",
            ],
        )  # fmt: skip
        if self.beat:
            self._spawn(
                "beat",
                ["-m", "celery", "-A", "controltower", "beat", "-l", "WARNING",
                 "--schedule", str(self.logdir / "beat-schedule")],
            )  # fmt: skip

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM everything (warm shutdown), then SIGKILL what is still there."""
        for proc in self.procs:
            if proc.popen.poll() is None:
                proc.popen.terminate()
        deadline = time.monotonic() + timeout_s
        for proc in self.procs:
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(timeout=5)
        if not self.failed and os.environ.get("BENCH_KEEP_LOGS") != "1":
            shutil.rmtree(self.logdir, ignore_errors=True)

    # --- readiness -----------------------------------------------------------------------
    def check_alive(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is not None:
                self.failed = True
                raise StackError(proc.describe_exit() + f"\n(logs kept in {self.logdir})")

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """/healthz answers 200 and every worker answers a control ping."""
        deadline = time.monotonic() + timeout_s
        with httpx.Client(base_url=self.base_url, timeout=5.0) as client:
            while True:
                self.check_alive()
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() >= deadline:
                    self.failed = True
                    raise StackError(f"the server never answered /healthz with 200 on {self.base_url}")
                time.sleep(0.1)
        from controltower.celery import app

        missing = {*self.worker_names, self.early_name}
        while missing:
            self.check_alive()
            for reply in app.control.ping(destination=sorted(missing), timeout=0.5) or []:
                missing -= set(reply)
            if missing and time.monotonic() >= deadline:
                self.failed = True
                raise StackError(f"worker(s) never answered a ping: {', '.join(sorted(missing))}")

    def logs_hint(self) -> str:
        return str(self.logdir)

    # --- faults and samples ------------------------------------------------------------------
    def proc(self, name: str) -> Proc:
        """The latest process started under `name` (web, worker-1…, worker-early, beat)."""
        for proc in reversed(self.procs):
            if proc.name == name:
                return proc
        raise KeyError(name)

    def kill(self, name: str) -> None:
        """SIGKILL the process and its children (a prefork worker's pool), as the OOM killer or
        a container's kill would: no shutdown, no ack, its transactions cut off."""
        proc = self.proc(name)
        for pid in process_tree(proc.popen.pid):
            with contextlib.suppress(ProcessLookupError):  # gone already
                os.kill(pid, signal.SIGKILL)
        proc.popen.wait(timeout=10)

    def respawn(self, name: str) -> Proc:
        """Start `name` again with the arguments it had (a supervisor's restart)."""
        old = self.proc(name)
        if old.popen.poll() is None:
            raise StackError(f"{name} is still running")
        self.procs.remove(old)
        return self._spawn(name, old.args, nice=old.nice)


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (from /proc: a prefork worker's pool processes), parents first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        out.append(current)
        todo.extend(sorted(children.get(current, [])))
    return out


def rss_bytes(pid: int) -> int:
    """Resident memory of `pid` and its descendants (VmRSS from /proc; 0 for a process gone).
    Shared pages count once per process, as `ps` shows them: a trend, not an exact total."""
    total = 0
    for member in process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
                break
    return total
