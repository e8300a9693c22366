"""A private, throwaway Postgres cluster for tests that freeze or stop the server.

initdb into a fresh folder, its own port and socket folder, run as the ``postgres`` user (initdb and
pg_ctl refuse to run as root). Never the shared server on 5432: freezing that one would stall every
other engineer's tests. See shared/recipes/postgres-read-replica-test.md for the steps and timings.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from tests.conftest import free_port


def postgres_bin() -> Path | None:
    """The newest installed server binaries (Debian: /usr/lib/postgresql/N/bin), if any."""
    root = Path("/usr/lib/postgresql")
    if not root.is_dir():
        return None
    versions = sorted((p for p in root.iterdir() if (p / "bin" / "initdb").exists()), key=lambda p: p.name)
    return versions[-1] / "bin" if versions else None


def can_run_private_cluster() -> bool:
    if postgres_bin() is None:
        return False
    if os.geteuid() != 0:
        return True  # initdb runs as ourselves
    return shutil.which("runuser") is not None and _user_exists("postgres")


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


class PrivateCluster:
    """One initdb'd cluster on a free port. ``start()``, ``freeze()``/``thaw()``, ``stop()``."""

    def __init__(self) -> None:
        bin_dir = postgres_bin()
        assert bin_dir is not None, "no Postgres server binaries"
        self.bin = bin_dir
        # under /tmp, not pytest's tmp_path: the postgres user must reach the folder
        self.work = Path(tempfile.mkdtemp(prefix="ebaydash-pg-"))
        self.data = self.work / "data"
        self.port = free_port()
        self.frozen: list[psutil.Process] = []

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self, *, conf: str = "", replication: bool = False) -> PrivateCluster:
        """initdb and start; ``conf`` is appended to postgresql.conf, ``replication`` lets
        pg_basebackup and a standby connect (trust, from 127.0.0.1)."""
        if os.geteuid() == 0:
            shutil.chown(self.work, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as conf_file:
            conf_file.write(
                f"port = {self.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.work}'\n"
                "fsync = off\nshared_buffers = 32MB\nmax_connections = 40\n" + conf
            )
        hba = "local all all trust\nhost all all 127.0.0.1/32 trust\n"
        if replication:
            hba += "host replication all 127.0.0.1/32 trust\n"
        (self.data / "pg_hba.conf").write_text(hba)
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.work / "server.log"), "-w", "-t", "60", "start"
        )
        return self

    def postmaster(self) -> psutil.Process:
        pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        return psutil.Process(pid)

    def freeze(self) -> None:
        """SIGSTOP the postmaster and every backend: the kernel still accepts and acknowledges
        TCP traffic, but no process answers (as a hung VM or a stalled disk would)."""
        master = self.postmaster()
        self.frozen = [master, *master.children(recursive=True)]
        for proc in self.frozen:
            proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        for proc in self.frozen:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGCONT)
        self.frozen = []

    def stop(self) -> None:
        self.thaw()
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")
        except subprocess.CalledProcessError:
            pass
        finally:
            time.sleep(0.1)
            shutil.rmtree(self.work, ignore_errors=True)


class StandbyPair:
    """A private primary (wal_level=replica) and a streaming standby made from it with
    ``pg_basebackup -R``, each on its own port (shared/recipes/postgres-read-replica-test.md).
    ``start()``, ``stop_standby()``/``start_standby()``, ``stop()``."""

    def __init__(self) -> None:
        self.primary = PrivateCluster()
        self.standby_data = self.primary.work / "standby"
        self.standby_port = free_port()

    @property
    def primary_url(self) -> str:
        return self.primary.url

    @property
    def standby_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.standby_port}/postgres"

    def start(self) -> StandbyPair:
        self.primary.start(
            conf="wal_level = replica\nmax_wal_senders = 5\nwal_keep_size = 64MB\nhot_standby = on\n",
            replication=True,
        )
        self.primary._run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary.port),
            "-U",
            "postgres",
            "-D",
            str(self.standby_data),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        )
        # the copy carries the primary's port: the later line wins
        with open(self.standby_data / "postgresql.conf", "a") as conf:
            conf.write(f"port = {self.standby_port}\nmax_standby_streaming_delay = 1s\n")
        self.start_standby()
        return self

    def start_standby(self) -> None:
        log = str(self.primary.work / "standby.log")
        self.primary._run("pg_ctl", "-D", str(self.standby_data), "-l", log, "-w", "-t", "60", "start")

    def stop_standby(self) -> None:
        self.primary._run("pg_ctl", "-D", str(self.standby_data), "-m", "immediate", "-w", "-t", "30", "stop")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop_standby()
        self.primary.stop()
