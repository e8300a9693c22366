"""Helpers for the cache tests: a private redis-server to break on purpose, and a fake clock.

The shared Redis at 127.0.0.1:6379 is never stopped, paused or flushed: fault tests start their
own server on a free port with :class:`RedisServer`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import redis

from tests.conftest import free_port


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def unique_prefix() -> str:
    return f"ebaydash-test-{uuid.uuid4().hex[:12]}"


class RedisServer:
    """A redis-server child process on a free port, which tests may stop, freeze and slow."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.frozen = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--enable-debug-command",
                "yes",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return self
            except redis.RedisError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def client(self, timeout: float = 1.0) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=self.port, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    def stop(self) -> None:
        """Terminate it: connections are refused from now on."""
        if self.process is None:
            return
        if self.frozen:
            self.thaw()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def freeze(self) -> None:
        """SIGSTOP: the kernel still accepts connections, but nothing ever answers (a hung Redis)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)
        self.frozen = False

    def slow_down(self, seconds: float) -> threading.Thread:
        """Keep the server busy for ``seconds`` (DEBUG SLEEP) from a separate connection: every
        other command waits that long for its answer. Returns the thread running it."""
        client = self.client(timeout=seconds + 5)
        started = threading.Event()

        def sleep() -> None:
            started.set()
            client.execute_command("DEBUG", "SLEEP", seconds)
            client.close()

        thread = threading.Thread(target=sleep, daemon=True)
        thread.start()
        started.wait()
        time.sleep(0.05)  # let the command reach the server before the test goes on
        return thread
