"""A real cluster: three replicas behind HAProxy, Postgres, Redis, and Chromium through the balancer.

One cluster serves the tests of this module in order (they do not disturb each other until the
last one kills a replica); the negative control runs its own cluster without affinity.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from ebaydash import cli
from ebaydash.cluster import Cluster
from tests.cluster_support import cluster_env, demo_database, gauge, running_cluster, scrape, wait_for
from tests.conftest import OPERATOR, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

AUTOSCALE = [sys.executable, "-m", "ebaydash.cli", "autoscale"]
# two different files: choosing the same file again does not upload it again
UPLOADS = [
    ROOT / "tests" / "fixtures" / "imports" / name
    for name in ("seller_hub_orders.csv", "seller_hub_orders_uk.csv")
]


@pytest.fixture(scope="module")
def database(postgres_url: str) -> Iterator[str]:  # postgres_url: fails under CI without Postgres
    with demo_database() as url:
        yield url


@pytest.fixture(scope="module")
def cluster_environment(database: str, redis_url: str) -> dict[str, str]:
    return cluster_env(database, redis_url)


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, cluster_environment: dict[str, str]
) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), cluster_environment, replicas=3) as running:
        yield running


def tile(page: Page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def open_overview(browser: Browser, base: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(base)
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Orders").first).to_be_visible(
        timeout=60_000
    )
    return context, page


def affinity_cookie(context: BrowserContext) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == "SRV"), None)


# -- the balancer and its replicas --------------------------------------------------------------


def test_cluster_status_json_lists_the_balancer_and_every_healthy_replica(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["cluster", "--run-dir", str(cluster.spec.run_dir), "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["balancer"]["url"] == cluster.spec.url
    replicas = status["replicas"]
    assert [r["name"] for r in replicas] == ["r1", "r2", "r3"]
    for r in replicas:
        assert {"name", "url", "pid", "healthy", "metrics_url"} <= set(r)
        assert r["healthy"] is True and r["in_rotation"] is True and r["state"] == "ready"
        assert gauge(r["metrics_url"], "ebaydash_scaling_desired_replicas") is not None
    assert len({r["url"] for r in replicas}) == 3 and len({r["metrics_url"] for r in replicas}) == 3


def open_tabs(browser: Browser, url: str, count: int, *, batch: int = 5) -> list[tuple[BrowserContext, Page]]:
    """``count`` new browser sessions on ``url`` (the import page: the lightest), ``batch`` loading
    at a time; each is frozen once drawn, like a background tab, so thirty open tabs do not starve
    a small machine. Their WebSockets stay open."""
    tabs: list[tuple[BrowserContext, Page]] = []
    while len(tabs) < count:
        loading = []
        for _ in range(min(batch, count - len(tabs))):
            context = browser.new_context()
            page = context.new_page()
            page.goto(url, wait_until="commit")
            loading.append((context, page))
        for context, page in loading:
            sidebar = page.locator('[data-testid="stSidebar"]')
            expect(sidebar.get_by_text("Replica ")).to_be_visible(timeout=90_000)
            context.new_cdp_session(page).send("Page.setWebLifecycleState", {"state": "frozen"})
            tabs.append((context, page))
    return tabs


def test_thirty_browser_sessions_spread_over_the_three_replicas(cluster: Cluster, browser: Browser) -> None:
    opened: list[tuple[BrowserContext, Page]] = []
    try:
        opened = open_tabs(browser, f"{cluster.spec.url}/import_orders", 30)
        owners = Counter(affinity_cookie(context) for context, _page in opened)
        assert set(owners) == {"r1", "r2", "r3"}, owners
        assert min(owners.values()) >= 5, owners
        # the sessions really live where the cookie says: each replica counts its own
        urls = {r.name: r.metrics_url for r in cluster.status().replicas}

        def live() -> dict[str, float]:
            return {name: gauge(url, "ebaydash_live_sessions") or 0.0 for name, url in urls.items()}

        wait_for(
            lambda: live() == {k: float(v) for k, v in owners.items()}, timeout_s=15, what="live sessions"
        )
        assert sum(r.sessions for r in cluster.status().replicas) >= 30  # HAProxy's open WebSockets
    finally:
        for context, _page in opened:
            context.close()


def uploads(browser: Browser, base: str, *, contexts: int, per_context: int) -> tuple[int, list[int]]:
    """Upload ``per_context`` Seller Hub CSVs, one after the other, in each of ``contexts`` new
    browser sessions on the import page; (successes, the HTTP status of every upload PUT)."""
    statuses: list[int] = []
    shown = 0
    for _ in range(contexts):
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"{base}/import_orders")
            expect(page.locator("h1").filter(has_text="Import orders")).to_be_visible(timeout=60_000)
            picker = page.locator('[data-testid="stFileUploader"] input[type="file"]')
            for upload in UPLOADS[:per_context]:
                with page.expect_response(
                    lambda r: "/_stcore/upload_file/" in r.url and r.request.method == "PUT", timeout=30_000
                ) as info:
                    picker.set_input_files(str(upload))
                statuses.append(info.value.status)
                if info.value.ok:
                    # the session that owns the widget got the file: it lists it once more
                    shown += 1
                    listed = page.get_by_role("button", name=f"Remove {upload.name}")
                    expect(listed).to_have_count(1, timeout=30_000)
        finally:
            context.close()
    return shown, statuses


def test_twenty_uploads_through_the_balancer_all_succeed(cluster: Cluster, browser: Browser) -> None:
    shown, statuses = uploads(browser, cluster.spec.url, contexts=10, per_context=2)
    assert len(statuses) == 20
    assert statuses == [204] * 20, statuses
    assert shown == 20


def test_negative_control_without_affinity_uploads_land_on_the_wrong_replica(
    tmp_path: Path, cluster_environment: dict[str, str], browser: Browser
) -> None:
    """The same uploads through a round-robin balancer without the affinity cookie: the PUT goes to
    a replica that does not hold the tab's session, and Streamlit refuses it (HTTP 400)."""
    env = {
        **cluster_environment,
        "EBAYDASH_METRICS_PREFIX": cluster_environment["EBAYDASH_METRICS_PREFIX"] + "x",
    }
    with running_cluster(tmp_path / "no-affinity", env, replicas=3, affinity=False) as control:
        assert "cookie SRV" not in control.spec.config_path.read_text()
        shown, statuses = uploads(browser, control.spec.url, contexts=10, per_context=2)
    failed = [s for s in statuses if s != 204]
    assert len(statuses) == 20
    assert len(failed) >= 5, statuses  # round robin over 3: about two in three land elsewhere
    assert set(failed) == {400}, statuses
    assert shown == 20 - len(failed)


def test_every_replica_serves_prometheus_metrics_that_parse(cluster: Cluster, browser: Browser) -> None:
    context, _page = open_overview(browser, cluster.spec.url)  # one more page run somewhere
    context.close()
    page_runs = 0.0
    for replica in cluster.status().replicas:
        metrics = scrape(replica.metrics_url)  # prometheus_client's parser, or it raises
        names = set(metrics)
        for expected in (
            "ebaydash_live_sessions",
            "ebaydash_scaling_current_replicas",
            "ebaydash_scaling_desired_replicas",
            "ebaydash_scaling_cooldown_remaining_seconds",
        ):
            assert expected in names, (replica.name, expected)
        actions = {labels["action"]: value for labels, value in metrics["ebaydash_scaling_recommendation"]}
        assert set(actions) == {"scale_up", "scale_down", "hold"} and sum(actions.values()) == 1
        page_runs += sum(v for _l, v in metrics.get("ebaydash_page_duration_seconds_count", []))
        for name in names:
            assert name.startswith("ebaydash_"), name
    assert page_runs >= 31  # the 30 tabs and the overview above, at least
    # after the traffic above, the caches were used on some replica
    hits = [scrape(r.metrics_url).get("ebaydash_cache_hits_total", []) for r in cluster.status().replicas]
    assert any(hits)


# -- failover: the last test, it kills a replica ------------------------------------------------


def replica_of(page: Page) -> str:
    """The replica that drew this tab (the sidebar names it in cluster mode)."""
    return page.locator('[data-testid="stSidebar"]').get_by_text("Replica ").inner_text().split()[-1]


def test_kill_9_of_a_replica_its_tabs_show_the_same_view_again_within_10_s(
    cluster: Cluster, browser: Browser, database: str, cluster_environment: dict[str, str]
) -> None:
    from ebaydash import services
    from ebaydash.context import build_context
    from ebaydash.settings import Settings

    ctx = build_context(Settings(database_url=database), start_sampler=False)
    try:
        accounts = services.accounts(ctx, OPERATOR)
        other = next(a for a in accounts if a.id != services.default_account(accounts).id)
    finally:
        ctx.close()
    link = f"{cluster.spec.url}/?account={other.id}&period=90d"  # a shared link to a view
    tabs: list[tuple[BrowserContext, Page]] = []
    try:
        for _ in range(6):
            context = browser.new_context()
            page = context.new_page()
            page.goto(link)
            expect(page.locator("h1").filter(has_text=other.name)).to_be_visible(timeout=60_000)
            expect(page.get_by_text("Last 90 days:", exact=False).first).to_be_visible(timeout=60_000)
            tabs.append((context, page))
        views = [
            (replica_of(p), tile(p, "Orders"), tile(p, "Revenue"), tile(p, "Unique customers"))
            for _c, p in tabs
        ]
        victim = views[0][0]
        on_victim = [(p, v) for (_c, p), v in zip(tabs, views, strict=True) if v[0] == victim]
        survivors = {name for name in cluster.replicas if name != victim}

        killed_at = time.monotonic()
        cluster.replicas[victim].proc.signal(signal.SIGKILL)
        for page, (_replica, orders, revenue, customers) in on_victim:
            left_ms = max(100, int((killed_at + 10 - time.monotonic()) * 1000))
            # the tab reconnects to a survivor, which reruns it from the URL: no click, no reload
            sidebar_replica = page.locator('[data-testid="stSidebar"]').get_by_text("Replica ")
            expect(sidebar_replica).not_to_have_text(f"Replica {victim}", timeout=left_ms)
            assert replica_of(page) in survivors
            expect(page.locator("h1").filter(has_text=other.name)).to_be_visible(timeout=1000)
            expect(page.get_by_text("Last 90 days:", exact=False).first).to_be_visible(timeout=1000)
            assert (tile(page, "Orders"), tile(page, "Revenue"), tile(page, "Unique customers")) == (
                orders,
                revenue,
                customers,
            )
            assert "period=90d" in page.url and f"account={other.id}" in page.url
        recovered_s = time.monotonic() - killed_at
        assert recovered_s <= 10.0, recovered_s

        # the shared metrics (as every survivor's /metrics reports them) count 2 live replicas
        urls = [r.metrics_url for r in cluster.status().replicas if r.name in survivors]
        wait_for(
            lambda: all(gauge(u, "ebaydash_scaling_current_replicas") == 2 for u in urls),
            timeout_s=max(0.0, killed_at + 30 - time.monotonic()),
            what="2 live replicas in the shared metrics",
        )
        # ebaydash autoscale takes the dead replica out and, below the minimum, starts another
        env = {**cluster_environment, "EBAYDASH_MIN_REPLICAS": "3", "EBAYDASH_MAX_REPLICAS": "5"}
        result = subprocess.run(
            [*AUTOSCALE, "--once", "--json", "--run-dir", str(cluster.spec.run_dir)],
            env={k: v for k, v in os.environ.items() if not k.startswith("EBAYDASH_")} | env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        step = json.loads(result.stdout)
        assert step["lost"] == [victim] and (step["action"], step["rule"]) == ("scale_up", "min_replicas")
        assert (step["before"], step["after"]) == (2, 3) and len(step["started"]) == 1
        healed = Cluster.open(cluster.spec.run_dir).status()
        assert sorted(r.name for r in healed.replicas) == sorted([*survivors, *step["started"]])
        assert all(r.healthy and r.in_rotation for r in healed.replicas)
    finally:
        for context, _page in tabs:
            context.close()
