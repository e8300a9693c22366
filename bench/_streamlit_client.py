"""A browser-free Streamlit client for the cluster benchmark: what a tab does on the wire.

It fetches ``/`` through the balancer (which sets the affinity cookie), opens the app's WebSocket
(``/_stcore/stream``) with that cookie, and asks for script runs (``BackMsg.rerun_script``); a page
view ends with ``ForwardMsg.script_finished``. No rendering, so the load measures the servers, not
a browser. Streamlit's protobuf classes come with streamlit itself (imported when a view runs:
nothing but ``ui`` imports streamlit when the package is imported).
"""

from __future__ import annotations

import http.cookiejar
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect


class SessionLost(Exception):
    """The WebSocket closed (its replica died) or a view did not finish in time."""


class StreamlitSession:
    def __init__(self, base_url: str, *, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.jar = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.ws: ClientConnection | None = None

    @property
    def affinity(self) -> str | None:
        return next((c.value for c in self.jar if c.name == "SRV"), None)

    def open(self) -> StreamlitSession:
        """Load the page (the balancer picks a replica and sets its cookie), then connect."""
        with self._opener.open(f"{self.base_url}/", timeout=self.timeout_s) as response:
            response.read()
        return self.connect()

    def connect(self) -> StreamlitSession:
        """(Re)open the WebSocket with the cookies held, as a tab does after a disconnect."""
        if self.ws is not None:
            self.ws.close()
        parts = urlsplit(self.base_url)
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.jar)
        try:
            self.ws = connect(
                f"ws://{parts.netloc}{parts.path}/_stcore/stream",
                subprotocols=["streamlit"],  # type: ignore[list-item]
                additional_headers={"Cookie": cookies} if cookies else None,
                open_timeout=self.timeout_s,
                max_size=None,
            )
        except (OSError, WebSocketException) as exc:  # refused, or the balancer's 502/503
            self.ws = None
            raise SessionLost(f"{type(exc).__name__}: {exc}") from exc
        # the balancer may have given this tab another replica (redispatch): keep its new cookie
        response = self.ws.response
        if response is not None:
            for value in response.headers.get_all("Set-Cookie"):
                name, _, rest = value.partition("=")
                if name.strip() == "SRV":
                    self._set_affinity(rest.split(";", 1)[0])
        return self

    def _set_affinity(self, value: str) -> None:
        host = urlsplit(self.base_url).hostname or ""
        self.jar.set_cookie(
            http.cookiejar.Cookie(
                0,
                "SRV",
                value,
                None,
                False,
                host,
                False,
                False,
                "/",
                True,
                False,
                None,
                True,
                None,
                None,
                {},
            )
        )

    def view(self, query_string: str = "") -> float:
        """One page view (a script run of the default page); its seconds. Raises SessionLost."""
        if self.ws is None:
            raise SessionLost("not connected")
        back_msg, forward_msg = _protos()
        finished = forward_msg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY
        message = back_msg()
        message.rerun_script.query_string = query_string
        started = time.perf_counter()
        try:
            self.ws.send(message.SerializeToString())
            deadline = started + self.timeout_s
            while True:
                data = self.ws.recv(timeout=max(0.01, deadline - time.perf_counter()))
                reply = forward_msg()
                reply.ParseFromString(data if isinstance(data, bytes) else data.encode())
                if reply.WhichOneof("type") == "script_finished" and reply.script_finished == finished:
                    return time.perf_counter() - started
        except Exception as exc:  # closed socket, timeout
            raise SessionLost(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None


def _protos() -> tuple[Any, Any]:
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    return BackMsg, ForwardMsg
