"""deploy/kubernetes/: the manifests parse, agree with each other and with the app's settings and
metric names (no cluster here to apply them to)."""

from __future__ import annotations

from typing import Any

import yaml
from prometheus_client import generate_latest

from ebaydash.monitor.prometheus import PrometheusBridge
from ebaydash.settings import Settings
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy" / "kubernetes"


def load(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / name).read_text()))


def env_of(deployment: dict[str, Any]) -> dict[str, str]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


def test_kustomization_lists_every_manifest_and_each_parses() -> None:
    listed = load("kustomization.yaml")["resources"]
    on_disk = sorted(p.name for p in DEPLOY.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == on_disk
    kinds = {load(name)["kind"] for name in listed}
    assert kinds == {"Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "ConfigMap"}


def test_the_deployment_runs_replicas_with_metrics_and_a_shared_cookie_secret() -> None:
    deployment = load("deployment.yaml")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:3] == ["python", "-m", "ebaydash.serve"]
    env = env_of(deployment)
    settings = Settings.from_env(env)  # every EBAYDASH_* value is valid
    assert not settings.extra
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["metrics"] == settings.metrics_port and settings.metrics_host == "0.0.0.0"
    secret_refs = {
        e["name"] for e in container["env"] if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]
    }
    assert {"EBAYDASH_DATABASE_URL", "EBAYDASH_REDIS_URL", "STREAMLIT_SERVER_COOKIE_SECRET"} <= secret_refs
    assert container["readinessProbe"]["httpGet"]["path"] == "/_stcore/health"


def test_the_ingress_keeps_a_tab_on_its_pod() -> None:
    notes = load("ingress.yaml")["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert notes["nginx.ingress.kubernetes.io/session-cookie-change-on-failure"] == "true"
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600


def test_the_hpa_targets_are_the_rules_engines_limits() -> None:
    hpa = load("hpa.yaml")
    assert hpa["apiVersion"] == "autoscaling/v2"
    settings = Settings.from_env(env_of(load("deployment.yaml")))
    spec = hpa["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (settings.min_replicas, settings.max_replicas)
    targets = {
        m["pods"]["metric"]["name"]: float(m["pods"]["target"]["averageValue"])
        for m in spec["metrics"]
        if m["type"] == "Pods"
    }
    assert targets == {
        "ebaydash_page_runs_per_minute": settings.scale_up_throughput_per_min,
        "ebaydash_page_response_milliseconds": settings.scale_up_response_ms,
    }
    memory = next(m for m in spec["metrics"] if m["type"] == "Resource")
    assert memory["resource"]["target"]["averageUtilization"] == round(settings.scale_up_memory * 100)
    stabilisation = spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"]
    assert stabilisation == settings.scale_stabilisation_s


def test_the_adapter_rules_read_series_every_replica_exposes() -> None:
    rules = yaml.safe_load(load("prometheus-adapter-rules.yaml")["data"]["rules.yaml"])["rules"]
    bridge = PrometheusBridge()
    bridge.on_events([(0.0, "page", "overview", 0.05, True, None)])
    exposed = generate_latest(bridge.registry).decode()
    hpa_names = {
        m["pods"]["metric"]["name"] for m in load("hpa.yaml")["spec"]["metrics"] if m["type"] == "Pods"
    }
    assert {r["name"]["as"] for r in rules} == hpa_names
    for rule in rules:
        series = rule["seriesQuery"].split("{")[0].strip("'")
        assert f"\n{series}{{" in exposed, series
