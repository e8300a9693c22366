"""``python -m ebaydash.serve [streamlit run options]``: a replica — ``streamlit run app.py`` with
this process's context (database pool, metrics flusher, resource sampler, Prometheus endpoint)
built before the first browser connects.

``streamlit run`` builds the context on the first page run only, so a replica nobody visited yet
would serve no /metrics and would not count as live in the shared metrics. The local cluster
and the Kubernetes Deployment start replicas this way; ``make run`` keeps plain ``streamlit run``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ebaydash.errors import ConfigError
from ebaydash.settings import Settings

APP = Path(__file__).resolve().parent.parent / "app.py"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        Settings.from_env(os.environ)  # a malformed setting stops here, with its message
    except ConfigError as exc:
        print(f"ebaydash: {exc}", file=sys.stderr)
        return 2
    if not args or args[0].startswith("-"):
        args = [str(APP), *args]
    from ebaydash import ui  # imported here: only ui may load streamlit

    ui.serve(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
