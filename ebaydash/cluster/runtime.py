"""A client for HAProxy's runtime API (the ``stats socket`` of the generated configuration).

One command per connection (HAProxy's non-interactive mode): send the line, read until HAProxy
closes. Only what the cluster needs: server states and session counts, ``set server … addr/port``,
``set server … state ready|drain|maint``. See HAProxy's management guide, section "Unix Socket
commands", for the commands and the ``show servers state`` columns.
"""

from __future__ import annotations

import csv
import io
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ebaydash.cluster.errors import RuntimeAPIError

AdminState = Literal["ready", "drain", "maint"]

# srv_admin_state bits (HAProxy's include/haproxy/server-t.h): forced, inherited, resolver and
# health-check maintenance; forced and inherited drain. The "configured disabled" bit (0x04) stays
# set on a slot declared ``disabled`` even after ``state ready`` put it in rotation, so it is not
# read as maintenance: a parked slot also carries the forced bit.
_MAINT_BITS = 0x01 | 0x02 | 0x20 | 0x40
_DRAIN_BITS = 0x08 | 0x10
# srv_op_state: 0 stopped (down), 1 starting, 2 running (up), 3 stopping
_OP_UP = 2


@dataclass(frozen=True)
class ServerState:
    """One server of the backend as HAProxy sees it."""

    name: str
    address: str  # host:port
    admin: AdminState
    up: bool  # its health check passes (meaningless in maintenance)
    sessions: int  # current sessions (scur): open WebSockets and requests in flight
    status: str  # HAProxy's own word: UP, DOWN, DRAIN, MAINT, "UP 1/2" …


class RuntimeAPI:
    def __init__(self, socket_path: Path | str, *, timeout_s: float = 5.0) -> None:
        self.socket_path = str(socket_path)
        self.timeout_s = timeout_s

    def command(self, line: str) -> str:
        """Send one command and return HAProxy's answer (stripped). Raises :class:`RuntimeAPIError`
        when the socket does not answer."""
        if "\n" in line or ";" in line:
            raise RuntimeAPIError(f"refusing a runtime API command with a separator: {line!r}")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout_s)
                sock.connect(self.socket_path)
                sock.sendall(line.encode() + b"\n")
                chunks = []
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
        except OSError as exc:
            raise RuntimeAPIError(
                f"HAProxy's runtime API at {self.socket_path} did not answer ({exc}); is the cluster running?"
            ) from exc
        return b"".join(chunks).decode(errors="replace").strip()

    def ping(self) -> bool:
        try:
            return bool(self.command("show info"))
        except RuntimeAPIError:
            return False

    # -- reading -------------------------------------------------------------------------------

    def servers(self, backend: str) -> dict[str, ServerState]:
        """Every server of ``backend`` by name, with its admin state, health and session count."""
        state_text = self.command(f"show servers state {backend}")
        lines = [line for line in state_text.splitlines() if line.strip()]
        header = next((line for line in lines if line.startswith("#")), None)
        if header is None:
            raise RuntimeAPIError(f"unexpected answer to 'show servers state': {state_text[:200]!r}")
        columns = header.lstrip("# ").split()
        sessions = self._sessions(backend)
        out: dict[str, ServerState] = {}
        for line in lines:
            if line.startswith("#") or line.strip() == "1":
                continue
            row = dict(zip(columns, line.split(), strict=False))
            if row.get("be_name") != backend:
                continue
            name = row["srv_name"]
            admin_bits = int(row["srv_admin_state"])
            admin: AdminState = (
                "maint" if admin_bits & _MAINT_BITS else "drain" if admin_bits & _DRAIN_BITS else "ready"
            )
            scur, status = sessions.get(name, (0, ""))
            out[name] = ServerState(
                name=name,
                address=f"{row['srv_addr']}:{row['srv_port']}",
                admin=admin,
                up=int(row["srv_op_state"]) == _OP_UP,
                sessions=scur,
                status=status,
            )
        return out

    def _sessions(self, backend: str) -> dict[str, tuple[int, str]]:
        text = self.command("show stat")
        reader = csv.DictReader(io.StringIO(text.removeprefix("# ")))
        return {
            row["svname"]: (int(row["scur"] or 0), row["status"])
            for row in reader
            if row.get("pxname") == backend and row.get("svname") not in ("FRONTEND", "BACKEND")
        }

    # -- changing ------------------------------------------------------------------------------

    def set_address(self, backend: str, server: str, host: str, port: int) -> None:
        answer = self.command(f"set server {backend}/{server} addr {host} port {port}")
        # HAProxy says what it changed ("IP changed from …", "no need to change the addr, port
        # changed from …"); anything else is a refusal
        if answer and not any(word in answer for word in ("changed", "no need to change")):
            raise RuntimeAPIError(f"HAProxy refused the address of {server}: {answer}")

    def set_state(self, backend: str, server: str, state: AdminState) -> None:
        answer = self.command(f"set server {backend}/{server} state {state}")
        if answer:
            raise RuntimeAPIError(f"HAProxy refused to set {server} to {state}: {answer}")

    def enable_health(self, backend: str, server: str) -> None:
        answer = self.command(f"enable health {backend}/{server}")
        if answer:
            raise RuntimeAPIError(f"HAProxy refused to enable health checks of {server}: {answer}")
