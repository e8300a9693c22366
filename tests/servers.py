"""Real `streamlit run` servers for browser tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import ROOT, free_port


def seeded_sqlite(directory: Path, template: Path) -> str:
    """A copy of the session's demo database (``demo_template``) under ``directory``; its URL."""
    target = directory / "demo.sqlite3"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@contextmanager
def running_app(
    log_dir: Path,
    env: dict[str, str],
    *,
    port: int | None = None,
    args: Sequence[str] = (),
    script: str = "app.py",
) -> Iterator[str]:
    """`streamlit run app.py` (or another ``script``, run from the repository so its
    .streamlit/config.toml applies) on ``port`` (default: a free one) with ``env`` added and
    Streamlit's ``args`` (e.g. ``--secrets.files``); yields its base URL once `/_stcore/health`
    answers, and stops it afterwards."""
    port = port or free_port()
    log_path = log_dir / f"streamlit-{port}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                script,
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--browser.gatherUsageStats",
                "false",
                *args,
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=1) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"streamlit did not start: {log_path.read_text()}")
                time.sleep(0.3)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=10)
