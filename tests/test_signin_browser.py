"""Sign-in end to end: Chromium, a real `streamlit run` with EBAYDASH_AUTH=oidc, and a real OpenID
Connect provider (oidc-provider-mock, in a thread: discovery, the authorization code flow and signed
ID tokens). A seller sees only their account and no system pages; a manager sees those too;
signing out ends the session."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from oidc_provider_mock import run_server_in_thread
from playwright.sync_api import Browser, Page, expect

from ebaydash import services
from ebaydash.context import build_context
from ebaydash.plaintext import WORD_JOINER
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, free_port
from tests.servers import running_app, seeded_sqlite

pytestmark = pytest.mark.browser

SELLER, MANAGER = "seller@shop.test", "manager@shop.test"


@dataclass
class SignInApp:
    base: str
    mine: str  # the account granted to both
    others: list[str]  # accounts granted to nobody


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[SignInApp]:
    data = tmp_path_factory.mktemp("signin")
    url = seeded_sqlite(data, demo_template)
    ctx = build_context(Settings(database_url=url), start_sampler=False)
    try:
        names = [a.name for a in services.accounts(ctx, OPERATOR)]
        services.grant(ctx, OPERATOR, SELLER, names[0], "seller")
        services.grant(ctx, OPERATOR, MANAGER, names[0], "manager")
    finally:
        ctx.close()
    port = free_port()
    with run_server_in_thread() as provider:
        secrets_file = data / "secrets.toml"
        # Streamlit's documented [auth] section: the app's callback, the cookie key, the client
        # and the provider's discovery document
        secrets_file.write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(32)}"\n'
            'client_id = "ebaydash"\n'
            'client_secret = "not-a-secret-for-the-mock"\n'
            f'server_metadata_url = "http://localhost:{provider.server_port}/.well-known/openid-configuration"\n'
        )
        env = {
            "EBAYDASH_DATABASE_URL": url,
            "EBAYDASH_AUTH": "oidc",
            "EBAYDASH_SECRET_KEY": secrets.token_hex(32),
        }
        with running_app(data, env, port=port, args=["--secrets.files", str(secrets_file)]) as base:
            yield SignInApp(base, names[0], names[1:])


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(base)
    page.get_by_role("button", name="Sign in").click(timeout=30_000)
    # the provider's own authorization form
    page.locator('input[name="sub"][type="text"]').fill(email, timeout=30_000)
    page.get_by_role("button", name="Authorize").click()
    expect_signed_in(page, email)


def expect_signed_in(page: Page, email: str) -> None:
    """The sidebar's line on who is signed in shows ``email`` (as text: word joiners keep the
    address from becoming a mailto: link, so it is compared without them)."""
    line = page.locator('[data-testid="stSidebar"]').get_by_text("Signed in as").first
    expect(line).to_be_visible(timeout=30_000)
    assert f"Signed in as {email} (" in line.inner_text().replace(WORD_JOINER, "")
    assert line.locator('a[href^="mailto"]').count() == 0


def test_a_seller_sees_only_their_account_and_no_system_pages(app: SignInApp, browser: Browser) -> None:
    page = browser.new_context().new_page()
    sign_in(page, app.base, SELLER)
    expect(page.locator("h1").filter(has_text=app.mine)).to_be_visible(timeout=30_000)
    sidebar = page.locator('[data-testid="stSidebar"]')
    for title in ("Overview", "Orders", "Import orders"):
        expect(sidebar.get_by_role("link", name=title, exact=True)).to_be_visible()
    for title in ("Performance", "Resources", "Scaling", "Access"):
        assert sidebar.get_by_role("link", name=title, exact=True).count() == 0, title
    # the account picker offers their account only
    sidebar.locator('[data-testid="stSelectbox"]').first.click()
    options = page.locator('[role="option"]')
    expect(options.first).to_be_visible(timeout=10_000)
    assert [o.strip() for o in options.all_inner_texts()] == [app.mine]
    page.keyboard.press("Escape")
    # a link to a system page does not open it for a seller
    page.goto(f"{app.base}/performance")
    expect_signed_in(page, SELLER)
    assert page.locator("h1").filter(has_text="Performance").count() == 0
    # nor does a link to another account
    page.goto(f"{app.base}/?account=999999")
    expect(page.locator("h1").filter(has_text=app.mine)).to_be_visible(timeout=30_000)
    for other in app.others:
        assert page.get_by_text(other, exact=True).count() == 0


def test_a_manager_sees_the_system_pages_and_sign_out_ends_the_session(
    app: SignInApp, browser: Browser
) -> None:
    page = browser.new_context().new_page()
    sign_in(page, app.base, MANAGER)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("link", name="Performance").click()
    expect(page.locator("h1").filter(has_text="Performance")).to_be_visible(timeout=30_000)
    assert sidebar.get_by_role("link", name="Access").count() == 0  # admins only
    sidebar.get_by_role("button", name="Sign out").click()
    # st.logout ends the session at the provider too (RP-initiated logout); the mock asks first
    page.get_by_role("button", name="End session").click(timeout=30_000)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
    # the identity cookie is gone: a reload does not sign them in again
    page.goto(app.base)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
    assert page.get_by_text("Signed in as").count() == 0
    assert page.locator("h1").filter(has_text="Performance").count() == 0
