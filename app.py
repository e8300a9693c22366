"""ebaydash entry point: who is looking, and the pages they may see. Everything else lives in pages/
and ebaydash/."""

import functools

import streamlit as st

from ebaydash import services, ui

# A storefront drawn inline: a ":material/…:" page icon makes every browser fetch the favicon from
# fonts.gstatic.com, telling Google of each visit; the app asks no other host for anything.
STOREFRONT = (
    '<svg viewBox="0 0 24 24"><path fill="#0064d2" d="M4 4h16l2 5v1a3 3 0 0 1-5 2 3 3 0 0 1-5 0 '
    "3 3 0 0 1-5 0 3 3 0 0 1-5-2V9zM5 13.5V20h14v-6.5a4.5 4.5 0 0 1-5 0 4.5 4.5 0 0 1-4 0 "
    '4.5 4.5 0 0 1-5 0z"/></svg>'
)
st.set_page_config(page_title="ebaydash", page_icon=STOREFRONT, layout="wide")

problem = ui.startup_problem()  # a bad setting or an unusable database: that page only
if problem is not None:
    ui.show_startup_problem(problem)
viewer = ui.signed_in_viewer()  # the demo's with EBAYDASH_AUTH=none; None before sign-in
if viewer is None:
    st.navigation([st.Page(ui.sign_in_page, title="Sign in", icon=":material/login:")]).run()
elif not viewer.has_access:
    # someone whose grants were revoked is told so, and whom to ask: "no access yet" would send them
    # to ask for what was taken away on purpose
    removal: services.Removal | None = None
    with ui.guard():
        removal = services.access_removal(ui.context(), viewer)
    if removal is None:
        st.navigation([st.Page(ui.no_access_page, title="No access yet", icon=":material/lock:")]).run()
    else:
        page = functools.partial(ui.access_removed_page, removal.message)
        st.navigation(
            [st.Page(page, title="Access removed", icon=":material/lock:", url_path="access-removed")]
        ).run()
else:
    # only the pages this viewer may see exist for them: a link to another one opens the default
    pages = {
        "Sellers": [
            st.Page("pages/overview.py", title="Overview", icon=":material/insights:", default=True),
            st.Page("pages/orders.py", title="Orders", icon=":material/receipt_long:"),
            st.Page("pages/profit.py", title="Profit", icon=":material/savings:"),
            st.Page("pages/payouts.py", title="Payouts", icon=":material/account_balance:"),
            st.Page("pages/costs.py", title="Cost of goods", icon=":material/inventory_2:"),
            st.Page("pages/import_orders.py", title="Import orders", icon=":material/upload_file:"),
        ],
    }
    if viewer.is_manager:
        pages["System"] = [
            st.Page("pages/performance.py", title="Performance", icon=":material/speed:"),
            st.Page("pages/resources.py", title="Resources", icon=":material/memory:"),
            st.Page("pages/scaling.py", title="Scaling", icon=":material/trending_up:"),
        ]
    if viewer.is_admin:
        pages["Admin"] = [st.Page("pages/access.py", title="Access", icon=":material/admin_panel_settings:")]
    ui.who_is_looking(viewer)
    ui.run_page(st.navigation(pages))
