"""Access below the UI: a forged account id through every entry (a direct service call, a cursor,
the URL, the session state) reads nothing and is refused; the grant commands; the audit log."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import streamlit as st
from sqlalchemy import event
from streamlit.testing.v1 import AppTest

from ebaydash import services
from ebaydash import ui as ebaydash_ui
from ebaydash.cli import main
from ebaydash.context import Context, build_context
from ebaydash.errors import InvalidCursor, NotAllowed
from ebaydash.models import Account, OrderFilter, Window
from ebaydash.plaintext import WORD_JOINER
from ebaydash.settings import Settings
from ebaydash.viewer import Viewer
from tests.conftest import OPERATOR, ROOT

SECRET = "s" * 40
SELLER, MANAGER, ADMIN, STRANGER = "seller@shop.test", "manager@shop.test", "admin@shop.test", "new@shop.test"


@dataclass
class Shops:
    ctx: Context
    url: str
    mine: Account  # granted to the seller and the manager
    other: Account  # granted to nobody but the admin

    def viewer(self, email: str) -> Viewer:
        return services.viewer_for(self.ctx, email)


@pytest.fixture
def shops(demo_url: str) -> Iterator[Shops]:
    ctx = build_context(Settings(database_url=demo_url, secret_key=SECRET), start_sampler=False)
    try:
        first, second = services.accounts(ctx, OPERATOR)[:2]
        services.grant(ctx, OPERATOR, SELLER, first.name, "seller")
        services.grant(ctx, OPERATOR, MANAGER, first.name, "manager")
        services.grant(ctx, OPERATOR, ADMIN, second.name, "admin")
        yield Shops(ctx, demo_url, first, second)
    finally:
        ctx.close()


@dataclass
class Touches:
    statements: list[str]
    cache_calls: list[str]


@contextmanager
def touches(ctx: Context) -> Iterator[Touches]:
    """Every SQL statement sent and every cache call made inside the block."""
    seen = Touches([], [])

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.statements.append(statement)

    event.listen(ctx.db.engine, "before_cursor_execute", on_execute)
    originals = {name: getattr(ctx.cache, name) for name in ("get_or_create", "get", "scoped", "invalidate")}

    def counting(name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            seen.cache_calls.append(name)
            return originals[name](*args, **kwargs)

        return call

    for name in originals:
        setattr(ctx.cache, name, counting(name))
    try:
        yield seen
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", on_execute)
        for name, original in originals.items():
            setattr(ctx.cache, name, original)


def account_calls(
    ctx: Context, viewer: Viewer, account_id: Any, order_id: int
) -> dict[str, Callable[[], Any]]:
    """Every account-scoped service, called for ``account_id``."""
    window = Window.last_days(365, "UTC")
    flt = OrderFilter()
    return {
        "account": lambda: services.account(ctx, viewer, account_id),
        "overview": lambda: services.overview(ctx, viewer, account_id, window),
        "kpis": lambda: services.kpis(ctx, viewer, account_id, window),
        "trend": lambda: services.trend(ctx, viewer, account_id, window),
        "top_products": lambda: services.top_products(ctx, viewer, account_id, window),
        "top_buyers": lambda: services.top_buyers(ctx, viewer, account_id, window),
        "status_mix": lambda: services.status_mix(ctx, viewer, account_id, window),
        "orders_page": lambda: services.orders_page(ctx, viewer, account_id, flt),
        "orders_total": lambda: services.orders_total(ctx, viewer, account_id, flt),
        "order_detail": lambda: services.order_detail(ctx, viewer, account_id, order_id),
        "update_order_status": lambda: services.update_order_status(
            ctx, viewer, account_id, order_id, "cancelled"
        ),
        "export_orders_csv": lambda: "".join(services.export_orders_csv(ctx, viewer, account_id, flt)),
        "export_orders_file": lambda: services.export_orders_file(ctx, viewer, account_id, flt).close(),
    }


def an_order(shops: Shops, account: Account) -> Any:
    return services.orders_page(shops.ctx, OPERATOR, account.id, OrderFilter()).rows[0]


# -- a direct service call ------------------------------------------------------------------------


@pytest.mark.parametrize("forged", ["other", "str", "missing", "bool"])
def test_a_forged_account_id_in_a_service_call_reads_nothing(shops: Shops, forged: str) -> None:
    seller = shops.viewer(SELLER)
    order = an_order(shops, shops.other)
    account_id: Any = {
        "other": shops.other.id,
        "str": str(shops.other.id),
        "missing": 10**9,
        "bool": True,
    }[forged]
    for name, call in account_calls(shops.ctx, seller, account_id, order.id).items():
        with touches(shops.ctx) as seen, pytest.raises(NotAllowed, match="no access to this account"):
            call()
        assert seen.statements == [] and seen.cache_calls == [], name
    # the forged status change changed nothing
    assert services.order_detail(shops.ctx, OPERATOR, shops.other.id, order.id).order.status == order.status


def test_the_same_calls_for_the_granted_account_do_read_it(shops: Shops) -> None:
    """Negative control: the counters above see reads when there are some."""
    seller = shops.viewer(SELLER)
    order = an_order(shops, shops.mine)
    for name, call in account_calls(shops.ctx, seller, shops.mine.id, order.id).items():
        with touches(shops.ctx) as seen:
            call()
        assert seen.statements or seen.cache_calls, name


def test_the_accounts_list_holds_only_granted_accounts(shops: Shops) -> None:
    everything = {a.id for a in services.accounts(shops.ctx, OPERATOR)}
    assert len(everything) >= 2
    assert [a.id for a in services.accounts(shops.ctx, shops.viewer(SELLER))] == [shops.mine.id]
    assert [a.id for a in services.accounts(shops.ctx, shops.viewer(MANAGER))] == [shops.mine.id]
    assert {a.id for a in services.accounts(shops.ctx, shops.viewer(ADMIN))} == everything
    assert services.accounts(shops.ctx, shops.viewer(STRANGER)) == []
    assert shops.viewer(SELLER).allowed_account_ids == frozenset({shops.mine.id})
    assert shops.viewer(ADMIN).allowed_account_ids is None  # every account


def test_the_system_pages_services_are_for_managers(shops: Shops) -> None:
    seller, manager = shops.viewer(SELLER), shops.viewer(MANAGER)
    calls: dict[str, Callable[[Viewer], Any]] = {
        "performance_report": lambda v: services.performance_report(shops.ctx, v, 300.0),
        "resource_report": lambda v: services.resource_report(shops.ctx, v),
        "scaling_report": lambda v: services.scaling_report(shops.ctx, v),
        "what_if": lambda v: services.what_if(shops.ctx, v, {}),
        "health_checks": lambda v: services.health_checks(shops.ctx, v),
        "demo_traffic": lambda v: services.demo_traffic(shops.ctx, v),
    }
    for name, call in calls.items():
        with pytest.raises(NotAllowed, match="for managers"):
            call(seller)
        call(manager)  # allowed
        assert name
    with pytest.raises(NotAllowed, match="Only an admin"):
        services.grants(shops.ctx, manager)
    with pytest.raises(NotAllowed, match="Only an admin"):
        services.grant(shops.ctx, manager, SELLER, shops.other.name, "admin")
    assert services.viewer_for(shops.ctx, SELLER).roles == {shops.mine.id: "seller"}


def test_an_import_into_a_foreign_or_new_account_is_refused_before_the_database(shops: Shops) -> None:
    seller = shops.viewer(SELLER)
    files = [services.ImportFile("orders.csv", b"Sales Record Number,Order Number\n")]
    for name in (shops.other.name, f"  {shops.other.name.upper()} ", "A brand new shop"):
        with touches(shops.ctx) as seen, pytest.raises(NotAllowed):
            services.import_orders(shops.ctx, seller, files, account_name=name)
        assert seen.statements == [], name


# -- a cursor -------------------------------------------------------------------------------------


def test_a_cursor_of_another_account_or_key_is_refused(shops: Shops) -> None:
    ctx = shops.ctx
    theirs = services.orders_page(ctx, OPERATOR, shops.other.id, OrderFilter(), page_size=25).next_cursor
    mine = services.orders_page(ctx, OPERATOR, shops.mine.id, OrderFilter(), page_size=25).next_cursor
    assert theirs and mine
    seller = shops.viewer(SELLER)
    with touches(ctx) as seen:
        with pytest.raises(NotAllowed):
            services.orders_page(ctx, seller, shops.other.id, OrderFilter(), cursor=theirs)
        with pytest.raises(InvalidCursor, match="another listing"):
            services.orders_page(ctx, seller, shops.mine.id, OrderFilter(), cursor=theirs, fresh=True)
    assert seen.statements == []
    # the same cursor, signed with another server's key: refused as if edited
    elsewhere = build_context(Settings(database_url=shops.url, secret_key="x" * 40), start_sampler=False)
    try:
        with pytest.raises(InvalidCursor, match="no longer valid"):
            services.orders_page(elsewhere, OPERATOR, shops.mine.id, OrderFilter(), cursor=mine, fresh=True)
    finally:
        elsewhere.close()
    # negative control: on the server that signed it, the cursor leads to page 2
    page = services.orders_page(ctx, seller, shops.mine.id, OrderFilter(), cursor=mine, fresh=True)
    assert page.first_row == 26


# -- the app: URL, session state, pages per role -------------------------------------------------


@pytest.fixture
def oidc_env(shops: Shops, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shops]:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", shops.url)
    monkeypatch.setenv("EBAYDASH_AUTH", "oidc")
    monkeypatch.setenv("EBAYDASH_SECRET_KEY", SECRET)
    st.cache_resource.clear()
    yield shops
    st.cache_resource.clear()


def signed_in(email: str | None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": SECRET}
    at.user = {"is_logged_in": False} if email is None else {"is_logged_in": True, "email": email}
    return at


def test_sign_in_without_its_secrets_is_a_configuration_problem_not_a_crash(oidc_env: Shops) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)  # no [auth] among the secrets
    at.run()
    assert not at.exception
    [error] = at.error
    assert "Configuration problem" in error.value and "[auth]" in error.value
    assert oidc_env.mine.name not in shown_text(at)


def shown_text(at: AppTest) -> str:
    """The page's text as a reader sees it: escaped characters (``&#64;``) as they show, without
    the invisible word joiners that keep addresses from becoming links."""
    return html.unescape(raw_text(at)).replace(WORD_JOINER, "")


def raw_text(at: AppTest) -> str:
    """The page's Markdown as Streamlit receives it."""
    parts = [
        e.value for kind in ("title", "markdown", "caption", "warning", "info", "error") for e in at.get(kind)
    ]
    return "\n".join(str(p) for p in parts)


def test_a_forged_account_in_the_url_is_not_followed(oidc_env: Shops) -> None:
    at = signed_in(SELLER)
    at.query_params["account"] = str(oidc_env.other.id)
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox(key="account_id").value == oidc_env.mine.id
    assert at.sidebar.selectbox(key="account_id").options == [oidc_env.mine.name]
    assert "is not yours" in shown_text(at)
    assert at.title[0].value == oidc_env.mine.name
    assert oidc_env.other.name not in shown_text(at)


@pytest.mark.parametrize("key", ["account_id", "select_account_id"])
def test_a_forged_account_in_the_session_state_is_not_followed(oidc_env: Shops, key: str) -> None:
    """The sidebar's own key, and the one another page uses to ask for an account to be shown."""
    at = signed_in(SELLER)
    at.session_state[key] = oidc_env.other.id
    for _ in range(2):
        at.run()
        assert not at.exception
        assert at.sidebar.selectbox(key="account_id").value == oidc_env.mine.id, key
        assert at.title[0].value == oidc_env.mine.name, key


def test_pages_follow_the_role(oidc_env: Shops) -> None:
    seller = signed_in(SELLER).run()
    assert "Signed in as seller@shop.test (seller)" in shown_text(seller)
    # the sidebar's address is text, not a mailto: link (as on the no-access pages)
    assert all(SELLER not in c.value for c in seller.sidebar.caption)
    for page in ("pages/performance.py", "pages/resources.py", "pages/scaling.py", "pages/access.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            seller.switch_page(page)  # the page does not exist for a seller
    manager = signed_in(MANAGER).run()
    manager.switch_page("pages/performance.py").run()
    assert not manager.exception and manager.title[0].value == "Performance"
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        manager.switch_page("pages/access.py")
    admin = signed_in(ADMIN).run()
    admin.switch_page("pages/access.py").run()
    assert not admin.exception and admin.title[0].value == "Access"
    assert SELLER in admin.dataframe[0].value["Person"].tolist()


def test_an_unknown_person_sees_only_the_no_access_page(oidc_env: Shops) -> None:
    at = signed_in(STRANGER).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["No access yet"]
    assert "Ask an admin" in shown_text(at)
    assert not at.sidebar.selectbox and not at.metric and not at.dataframe


def test_a_revoked_person_reads_that_their_access_was_removed_and_whom_to_ask(oidc_env: Shops) -> None:
    ctx, admin, pat = oidc_env.ctx, oidc_env.viewer(ADMIN), "pat@shop.test"
    services.grant(ctx, admin, pat, oidc_env.mine.name, "seller")
    services.revoke(ctx, admin, pat, oidc_env.mine.name)
    at = signed_in(pat).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Access removed"]
    shown = shown_text(at)
    assert f"your access was removed: your seller role on {oidc_env.mine.name!r} was revoked" in shown
    assert f"ask {ADMIN} (who removed it) or another admin to grant it again" in shown
    assert "No access yet" not in shown and "no shop has been shared" not in shown
    assert [b.label for b in at.button] == ["Sign out"]
    assert not at.sidebar.selectbox and not at.metric and not at.dataframe
    # the control: someone never granted anything still reads "no access yet"
    stranger = signed_in(STRANGER).run()
    assert [t.value for t in stranger.title] == ["No access yet"]
    assert "removed" not in shown_text(stranger)


def test_a_person_whose_grants_were_revoked_reads_every_one_of_them(oidc_env: Shops) -> None:
    """Not only the newest: every grant revoked since they last had access, the roles grouped;
    a grant revoked while another was still held, and then followed by a new grant, is not one."""
    ctx, admin, sam = oidc_env.ctx, oidc_env.viewer(ADMIN), "sam@shop.test"
    mine, other = oidc_env.mine.name, oidc_env.other.name
    services.grant(ctx, admin, sam, mine, "manager")
    services.revoke(ctx, admin, sam, mine)  # before the grants they held last: not named
    for name in (mine, other):
        services.grant(ctx, admin, sam, name, "seller")
    services.revoke(ctx, admin, sam, other)
    services.revoke(ctx, admin, sam, mine)
    at = signed_in(sam).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Access removed"]
    shown = shown_text(at)
    assert f"your seller roles on {other!r} and {mine!r} were revoked on " in shown, shown
    assert "manager" not in shown
    # two roles: each named with its accounts
    services.grant(ctx, admin, sam, mine, "seller")
    services.grant(ctx, admin, sam, other, "manager")
    services.revoke(ctx, admin, sam, mine)
    services.revoke(ctx, admin, sam, other)
    shown = shown_text(signed_in(sam).run())
    assert f"your seller role on {mine!r}, and your manager role on {other!r} were revoked" in shown, shown
    # the control: a single grant reads as before
    services.grant(ctx, admin, sam, mine, "seller")
    services.revoke(ctx, admin, sam, mine)
    assert f"your seller role on {mine!r} was revoked on " in shown_text(signed_in(sam).run())


def test_addresses_on_the_no_access_and_access_removed_pages_are_no_links(oidc_env: Shops) -> None:
    """Markdown makes a bare address a mailto: link; README says addresses never are."""
    ctx, admin, lee = oidc_env.ctx, oidc_env.viewer(ADMIN), "lee@shop.test"
    services.grant(ctx, admin, lee, oidc_env.mine.name, "seller")
    services.revoke(ctx, admin, lee, oidc_env.mine.name)
    for email, title in ((lee, "Access removed"), (STRANGER, "No access yet")):
        at = signed_in(email).run()
        assert [t.value for t in at.title] == [title]
        [info] = at.info
        assert f"signed in as {email}" in shown_text(at)  # it reads as the address
        assert email not in info.value and ADMIN not in info.value  # but is no autolink
        assert WORD_JOINER in info.value


def test_the_access_page_says_why_a_person_has_no_grant(
    oidc_env: Shops, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Revoked: "access removed (when)"; the EBAYDASH_ADMIN_EMAIL admin: admin of every account;
    never granted anything: "no access yet" (the control)."""
    ctx, admin, kit, boss = oidc_env.ctx, oidc_env.viewer(ADMIN), "kit@shop.test", "boss@shop.test"
    services.grant(ctx, admin, kit, oidc_env.mine.name, "seller")
    services.revoke(ctx, admin, kit, oidc_env.mine.name)
    for email in (kit, STRANGER, boss):
        signed_in(email).run()  # each is remembered at sign-in
    monkeypatch.setenv("EBAYDASH_ADMIN_EMAIL", "Boss@Shop.test")
    st.cache_resource.clear()
    at = signed_in(ADMIN).run()
    at.switch_page("pages/access.py").run()
    assert not at.exception
    grants = at.dataframe[0].value
    account = dict(zip(grants["Person"], grants["Account"], strict=True))
    role = dict(zip(grants["Person"], grants["Role"], strict=True))
    revoked_at = next(
        e.at for e in services.audit_log(ctx, admin) if e.subject == kit and e.action == "revoke"
    )
    assert account[kit] == f"— access removed ({revoked_at:%Y-%m-%d %H:%M} UTC) —"
    assert (account[boss], role[boss]) == ("— admin (every account) —", "admin")
    assert account[STRANGER] == "— no access yet —"
    # the line on the admin shows their address as text, not as a mailto: link
    caption = next(c.value for c in at.caption if "EBAYDASH_ADMIN_EMAIL" in c.value)
    assert "boss@shop.test" not in caption and "boss@shop.test is an admin" in shown_text(at)
    # the same words for `ebaydash users list`
    standing = {r.email: r.standing for r in services.grants(ctx, admin) if r.account_name is None}
    assert standing[kit].startswith("access removed (") and standing[STRANGER] == "no access yet"


def test_the_audit_log_gives_its_details_room_and_wraps_them(oidc_env: Shops) -> None:
    """At 1400 px the Details column was cut: widths that fit, rows tall enough to wrap (as the
    scaling actions' table, ui.actions_history)."""
    at = signed_in(ADMIN).run()
    at.switch_page("pages/access.py").run()
    assert not at.exception
    audit = at.dataframe[1]
    assert audit.proto.row_height == ebaydash_ui.ACTIONS_ROW_PX
    config = json.loads(audit.proto.columns)
    assert config["Details"]["width"] == 380 and config["When"]["width"] == 100
    # shorter than JSON: no braces, no quotes
    assert "previous: none · role: seller" in audit.value["Details"].tolist()


def test_whom_a_revoked_person_is_told_to_ask(demo_url: str) -> None:
    """The admin who revoked, when a person did; else EBAYDASH_ADMIN_EMAIL; else any admin. Nothing
    for a person with a grant left, one granted again, or one never granted anything."""
    from ebaydash.services.access import access_removal

    for admin_email, ask in (("Boss@Shop.test", "boss@shop.test (the dashboard's admin)"), ("", "an admin")):
        ctx = build_context(Settings(database_url=demo_url, admin_email=admin_email), start_sampler=False)
        try:
            first, second = services.accounts(ctx, OPERATOR)[:2]
            for name in (first.name, second.name):
                services.grant(ctx, OPERATOR, "kim@shop.test", name, "manager")
            # by the operator (as at the shell, "cli:USER"): no address to write to
            services.revoke(ctx, OPERATOR, "kim@shop.test", first.name)
            assert access_removal(ctx, services.viewer_for(ctx, "kim@shop.test")) is None  # still has one
            services.revoke(ctx, OPERATOR, "kim@shop.test", second.name)
            removal = access_removal(ctx, services.viewer_for(ctx, "kim@shop.test"))
            assert removal is not None
            assert (removal.account_name, removal.role) == (second.name, "manager")  # the newest
            assert f"ask {ask}" in removal.message and f"ask {OPERATOR.email}" not in removal.message
            assert access_removal(ctx, services.viewer_for(ctx, "never@shop.test")) is None
            services.grant(ctx, OPERATOR, "kim@shop.test", first.name, "seller")
            assert access_removal(ctx, services.viewer_for(ctx, "kim@shop.test")) is None
            services.revoke(ctx, OPERATOR, "kim@shop.test", first.name)  # for the next round's start
        finally:
            ctx.close()


def test_before_sign_in_only_the_sign_in_page_shows(oidc_env: Shops) -> None:
    at = signed_in(None).run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.sidebar.selectbox and not at.metric


def test_the_demo_says_it_has_no_sign_in(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", demo_url)
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
        assert "Demo mode: no sign-in" in shown_text(at)
        assert at.metric  # the overview, as before
    finally:
        st.cache_resource.clear()


def test_oidc_needs_a_secret_key() -> None:
    from ebaydash.errors import ConfigError

    with pytest.raises(ConfigError, match="EBAYDASH_SECRET_KEY"):
        Settings.from_env({"EBAYDASH_AUTH": "oidc"})
    assert Settings.from_env({"EBAYDASH_AUTH": "oidc", "EBAYDASH_SECRET_KEY": SECRET}).auth == "oidc"


# -- grant commands and the audit log -------------------------------------------------------------


def test_the_users_commands_grant_revoke_and_list(
    shops: Shops, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", shops.url)
    name = shops.other.name
    assert main(["users", "grant", "Pat@Shop.test", "--account", name, "--role", "manager"]) == 0
    assert capsys.readouterr().out.strip() == f"pat@shop.test is manager of {name!r}."
    assert shops.viewer("pat@shop.test").roles == {shops.other.id: "manager"}
    assert main(["users", "grant", "pat@shop.test", "--account", name.lower(), "--role", "seller"]) == 0
    assert "(was manager)" in capsys.readouterr().out
    assert main(["users", "list"]) == 0
    listed = capsys.readouterr().out
    assert f"pat@shop.test: seller of {name!r}" in listed and f"{SELLER}: seller" in listed
    assert main(["users", "revoke", "pat@shop.test", "--account", name]) == 0
    assert "no longer seller" in capsys.readouterr().out
    assert shops.viewer("pat@shop.test").roles == {}
    assert main(["users", "revoke", "pat@shop.test", "--account", name]) == 0
    assert "nothing changed" in capsys.readouterr().out
    # revoking from someone never seen changes nothing, and does not write them down
    assert main(["users", "revoke", "nobody@shop.test", "--account", name]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert main(["users", "list"]) == 0
    assert "nobody@shop.test" not in capsys.readouterr().out
    assert main(["users", "grant", "pat@shop.test", "--account", "No Such Shop", "--role", "seller"]) == 1
    assert "no account called 'No Such Shop'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["users", "grant", "pat@shop.test", "--account", name, "--role", "owner"])
    entries = [e for e in services.audit_log(shops.ctx, OPERATOR) if e.subject == "pat@shop.test"]
    assert [(e.action, e.detail["role"], e.detail["previous"]) for e in reversed(entries)] == [
        ("grant", "manager", None),
        ("grant", "seller", "manager"),
        ("revoke", None, "seller"),
    ]
    assert all(e.actor.startswith("cli:") and e.account_name == name for e in entries)


def test_the_users_commands_take_an_account_id_too(
    shops: Shops, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As the rollup commands do: a name first, else an id (all digits); neither is said so."""
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", shops.url)
    other = shops.other
    assert main(["users", "grant", "pat@shop.test", "--account", str(other.id), "--role", "seller"]) == 0
    assert capsys.readouterr().out.strip() == f"pat@shop.test is seller of {other.name!r}."
    assert shops.viewer("pat@shop.test").roles == {other.id: "seller"}
    assert main(["users", "revoke", "pat@shop.test", "--account", f" {other.id} "]) == 0
    assert capsys.readouterr().out.strip() == f"pat@shop.test is no longer seller of {other.name!r}."
    assert shops.viewer("pat@shop.test").roles == {}
    missing = 10**9
    for command in (["grant", "pat@shop.test", "--role", "seller"], ["revoke", "pat@shop.test"]):
        assert main(["users", *command, "--account", str(missing)]) == 1
        err = capsys.readouterr().err
        assert f"no account called '{missing}' nor with id {missing}; `ebaydash accounts` lists them" in err
    assert shops.viewer("pat@shop.test").roles == {}


def test_users_list_says_access_removed_and_the_admin_once(
    shops: Shops, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`users list` words a person's standing as the Access page does: a revoked person's access
    was removed (not "no access yet"), and the EBAYDASH_ADMIN_EMAIL admin is said once, as admin."""
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", shops.url)
    monkeypatch.setenv("EBAYDASH_ADMIN_EMAIL", "boss@shop.test")
    other = shops.other
    assert main(["users", "grant", "kim@shop.test", "--account", other.name, "--role", "seller"]) == 0
    assert main(["users", "revoke", "kim@shop.test", "--account", other.name]) == 0
    shops.viewer("boss@shop.test")  # signs in: known, without a grant
    capsys.readouterr()
    assert main(["users", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert next(line for line in lines if line.startswith("kim@shop.test: ")).startswith(
        "kim@shop.test: access removed ("
    )
    assert [line for line in lines if line.startswith("boss@shop.test")] == [
        "boss@shop.test: admin of every account (EBAYDASH_ADMIN_EMAIL)"
    ]


def test_the_bootstrap_admin_is_an_admin_without_grants(demo_url: str) -> None:
    ctx = build_context(Settings(database_url=demo_url, admin_email="Boss@Shop.test"), start_sampler=False)
    try:
        boss = services.viewer_for(ctx, "boss@shop.test")
        assert boss.is_admin and boss.allowed_account_ids is None and boss.roles == {}
        assert not services.viewer_for(ctx, "other@shop.test").has_access
        services.grant(ctx, boss, "x@shop.test", services.accounts(ctx, boss)[0].name, "seller")
    finally:
        ctx.close()


def test_sign_ins_and_imports_are_audited(oidc_env: Shops) -> None:
    signed_in(SELLER).run()
    signed_in(STRANGER).run()
    ctx = oidc_env.ctx
    admin = oidc_env.viewer(ADMIN)
    name = "getorders_page1.json"
    report = services.import_orders(
        ctx,
        admin,
        [services.ImportFile(name, (ROOT / "tests" / "fixtures" / "imports" / name).read_bytes())],
        account_name="Audited Shop",
    )
    assert report.committed and report.account_id is not None and report.imported > 0
    entries = services.audit_log(ctx, OPERATOR)
    actions = [(e.actor, e.action) for e in entries]
    assert (SELLER, "sign_in") in actions and (STRANGER, "sign_in_no_access") in actions
    (imported,) = [e for e in entries if e.action == "import"]
    assert (imported.actor, imported.account_id, imported.account_name) == (
        ADMIN,
        report.account_id,
        "Audited Shop",
    )
    assert imported.detail["files"] == [name]
    assert imported.detail["orders_in"] == report.orders_in
    assert imported.detail["imported"] == report.imported
    assert imported.detail["account_created"] is True
    assert all(isinstance(e.at, dt.datetime) for e in entries)
    # a refused import is not audited as one
    with pytest.raises(NotAllowed):
        services.import_orders(
            ctx, oidc_env.viewer(SELLER), [services.ImportFile(name, b"{}")], account_name="Audited Shop"
        )
    assert [e.action for e in services.audit_log(ctx, OPERATOR)].count("import") == 1


def test_a_cached_value_of_another_account_is_refused_on_read(shops: Shops) -> None:
    """Poison the cache: the key of the seller's KPIs holds another account's KPIs."""
    from ebaydash.cache import key_for

    ctx, seller = shops.ctx, shops.viewer(SELLER)
    window = Window.last_days(30, "UTC")
    theirs = services.kpis(ctx, OPERATOR, shops.other.id, window)
    ctx.cache.set(key_for(services.kpis, ctx, seller, shops.mine.id, window), theirs)
    with pytest.raises(NotAllowed):
        services.kpis(ctx, seller, shops.mine.id, window)
    # negative control: the honest value reads
    assert services.kpis(ctx, seller, shops.mine.id, window, fresh=True).account_id == shops.mine.id


def test_pages_show_a_refusal_as_not_allowed() -> None:
    from ebaydash import ui
    from ebaydash.viewer import NOT_YOUR_ACCOUNT

    assert ui.banner_text(NotAllowed(NOT_YOUR_ACCOUNT)) == f"**Not allowed.** {NOT_YOUR_ACCOUNT}"


def test_grants_and_the_audit_log_on_both_backends(db: Any) -> None:
    """The access SQL on SQLite and Postgres: grant, regrant, list (a person without grants too),
    revoke, and the audit log newest first."""
    from ebaydash.db import access as db_access
    from tests.migration_support import insert

    insert(
        db,
        "accounts",
        [{"name": "Shop One", "ebay_user_id": "one"}, {"name": "Shop Two", "ebay_user_id": "two"}],
    )
    now = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
    later = now + dt.timedelta(minutes=1)
    db_access.set_grant(db, "a@x.test", "shop one", "seller", by="cli:t", now=now)
    change = db_access.set_grant(db, "A@X.test", "Shop One", "manager", by="cli:t", now=later)
    assert (change.previous, change.role, change.account_name) == ("seller", "manager", "Shop One")
    db_access.set_grant(db, "a@x.test", "Shop Two", "seller", by="cli:t", now=later)
    db_access.record_sign_in(db, "nobody@x.test", later, granted=False)
    listed = [(r.email, r.account_name, r.role) for r in db_access.all_grants(db)]
    assert listed == [
        ("a@x.test", "Shop One", "manager"),
        ("a@x.test", "Shop Two", "seller"),
        ("nobody@x.test", None, None),
    ]
    assert sorted(tuple(r) for r in db_access.grants_of(db, "a@x.test")) == sorted(
        (r.account_id, r.role) for r in db_access.all_grants(db) if r.email == "a@x.test"
    )
    db_access.set_grant(db, "a@x.test", "Shop Two", None, by="cli:t", now=later)
    actions = [(r.action, r.subject, r.account_name) for r in db_access.audit_entries(db)]
    assert actions[0] == ("revoke", "a@x.test", "Shop Two")
    assert sorted(actions) == sorted(
        [
            ("grant", "a@x.test", "Shop One"),
            ("grant", "a@x.test", "Shop One"),
            ("grant", "a@x.test", "Shop Two"),
            ("sign_in_no_access", "nobody@x.test", None),
            ("revoke", "a@x.test", "Shop Two"),
        ]
    )
    assert [r.role for r in db_access.grants_of(db, "a@x.test")] == ["manager"]  # Shop Two's is gone
    # what tells a revoked person from one never granted: the revocation's audit row
    [revoked] = db_access.revocations_since_last_grant(db, " A@x.test")
    assert (revoked.actor, revoked.account_name, revoked.at) == ("cli:t", "Shop Two", later)
    assert db_access.revocations_since_last_grant(db, "nobody@x.test") == []


def test_an_install_brings_everything_sign_in_imports() -> None:
    """Authlib's client imports httpx only when someone signs in; an install without it answered
    the Sign in button with "Internal Server Error" (the tests had httpx through a test tool)."""
    import tomllib
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    from tests.conftest import ROOT

    wanted = {
        Requirement(r).name.lower()
        for r in requires("streamlit") or []
        if 'extra == "auth"' in r.replace("'", '"')
    }
    assert {"authlib", "httpx"} <= wanted  # what st.login needs, as Streamlit says it
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    streamlit = next(Requirement(r) for r in project["dependencies"] if Requirement(r).name == "streamlit")
    assert "auth" in streamlit.extras


def test_revocations_since_access_and_when_access_was_removed_on_both_backends(db: Any) -> None:
    """The SQL behind "your seller roles on 'A' and 'B' were revoked" and the Access page's
    "access removed (when)": the revocations after the newest grant, and the newest revocation's
    time for a person without a grant only."""
    from ebaydash.db import access as db_access
    from tests.migration_support import insert

    insert(
        db,
        "accounts",
        [{"name": "Shop One", "ebay_user_id": "one"}, {"name": "Shop Two", "ebay_user_id": "two"}],
    )
    t = [dt.datetime(2026, 11, 1, 12, n, tzinfo=dt.UTC) for n in range(6)]
    db_access.set_grant(db, "a@x.test", "Shop One", "manager", by="cli:t", now=t[0])
    db_access.set_grant(db, "a@x.test", "Shop One", None, by="cli:t", now=t[1])  # then granted again
    db_access.set_grant(db, "a@x.test", "Shop One", "seller", by="cli:t", now=t[2])
    db_access.set_grant(db, "a@x.test", "Shop Two", "seller", by="cli:t", now=t[3])
    db_access.set_grant(db, "a@x.test", "Shop Two", None, by="cli:t", now=t[4])
    removed = {r.email: r.removed_at for r in db_access.all_grants(db)}
    assert removed == {"a@x.test": None}  # still has Shop One
    db_access.set_grant(db, "a@x.test", "Shop One", None, by="cli:t", now=t[5])
    db_access.record_sign_in(db, "never@x.test", t[5], granted=False)
    since = db_access.revocations_since_last_grant(db, " A@x.test")
    assert [(r.account_name, r.at) for r in since] == [("Shop Two", t[4]), ("Shop One", t[5])]
    assert db_access.revocations_since_last_grant(db, "never@x.test") == []
    removed = {r.email: r.removed_at for r in db_access.all_grants(db)}
    assert removed == {"a@x.test": t[5], "never@x.test": None}
