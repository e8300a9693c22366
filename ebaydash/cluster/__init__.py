"""Several replicas behind HAProxy on one machine, and an autoscaler that acts on them.

- :mod:`.config`      the cluster's spec and the HAProxy configuration rendered from a template
- :mod:`.runtime`     HAProxy's runtime API (server states, sessions, ready / drain / maint)
- :mod:`.processes`   starting, watching and stopping processes (pid + start time)
- :mod:`.supervisor`  :class:`Cluster`: start, status, add / drain / remove a replica, stop
- :mod:`.autoscale`   the scaling rules engine's decisions applied to a running cluster
- :mod:`.commands`    ``ebaydash cluster …`` and ``ebaydash autoscale``

HAProxy does the balancing, the affinity and the health checks; nothing here forwards traffic.
"""

from ebaydash.cluster.config import ClusterSpec, check_settings, render
from ebaydash.cluster.errors import (
    AlreadyRunning,
    ClusterConfigError,
    ClusterError,
    HAProxyMissing,
    NoSpareSlot,
    NotRunning,
    ReplicaStartFailed,
    RuntimeAPIError,
)
from ebaydash.cluster.runtime import RuntimeAPI, ServerState
from ebaydash.cluster.supervisor import Cluster, ClusterStatus, DrainResult, Replica, ReplicaStatus

__all__ = [
    "AlreadyRunning",
    "Cluster",
    "ClusterConfigError",
    "ClusterError",
    "ClusterSpec",
    "ClusterStatus",
    "DrainResult",
    "HAProxyMissing",
    "NoSpareSlot",
    "NotRunning",
    "Replica",
    "ReplicaStartFailed",
    "ReplicaStatus",
    "RuntimeAPI",
    "RuntimeAPIError",
    "ServerState",
    "check_settings",
    "render",
]
