"""The statement watchdog on its own: an armed call past its due time gets its socket shut down
(the peer sees end-of-file), a disarmed one is left alone."""

from __future__ import annotations

import socket
import time

from ebaydash.db.watchdog import Deadline, Watchdog


def test_an_overdue_call_has_its_socket_shut_down_and_its_deadline_marked() -> None:
    dog = Watchdog(poll_s=0.01)
    ours, server = socket.socketpair()
    deadline = Deadline(limit_s=0.1)
    try:
        dog.arm(1, ours.fileno(), time.monotonic() + 0.1, deadline)
        server.settimeout(5)
        started = time.monotonic()
        assert ours.recv(1) == b""  # what a driver blocked on the socket sees: end-of-file
        assert 0.08 <= time.monotonic() - started < 2
        assert deadline.fired and dog.fired == 1 and dog.armed == 0
        assert ours.fileno() != -1  # shut down, not closed: the owner closes its descriptor
    finally:
        ours.close()
        server.close()


def test_a_call_disarmed_in_time_is_left_alone() -> None:
    dog = Watchdog(poll_s=0.01)
    ours, server = socket.socketpair()
    deadline = Deadline(limit_s=0.1)
    try:
        dog.arm(1, ours.fileno(), time.monotonic() + 0.1, deadline)
        dog.disarm(1)
        time.sleep(0.3)
        server.sendall(b"x")
        assert ours.recv(1) == b"x"  # still connected
        assert not deadline.fired and dog.fired == 0
    finally:
        ours.close()
        server.close()
