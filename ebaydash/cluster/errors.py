"""The cluster's exceptions, under :class:`~ebaydash.errors.EbaydashError` so the command line
prints their message (written for whoever runs the cluster) instead of a traceback.

    ClusterError
    ├── ClusterConfigError    the settings cannot run a cluster (no Postgres, no Redis, bad sizes)
    ├── HAProxyMissing        no haproxy binary, or its configuration check failed
    ├── NotRunning            no cluster in this run directory (or it was stopped)
    ├── AlreadyRunning        a cluster already runs from this run directory
    ├── ReplicaStartFailed    a replica did not answer /_stcore/health in time
    ├── NoSpareSlot           every server slot of the backend is in use
    └── RuntimeAPIError       HAProxy's runtime API refused a command or did not answer
"""

from __future__ import annotations

from ebaydash.errors import EbaydashError


class ClusterError(EbaydashError):
    pass


class ClusterConfigError(ClusterError):
    pass


class HAProxyMissing(ClusterError):
    pass


class NotRunning(ClusterError):
    pass


class AlreadyRunning(ClusterError):
    pass


class ReplicaStartFailed(ClusterError):
    pass


class NoSpareSlot(ClusterError):
    pass


class RuntimeAPIError(ClusterError):
    pass
