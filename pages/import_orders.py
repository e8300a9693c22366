"""Import orders: upload Fulfillment API getOrders pages (JSON) or Seller Hub reports (CSV)."""

import pandas as pd
import streamlit as st

from ebaydash import services, ui

# px, adding up to the page's ~920 px at a 1400 px window; the reason, the point of the table, the most
PROBLEM_WIDTHS = {"File": 190, "Line": 60, "Order": 120, "Column": 150, "Problem": 400}

ctx = ui.context()
viewer = ui.viewer()
st.title("Import orders")
st.caption(
    "Upload the pages of a Sell Fulfillment API **getOrders** search (JSON) or Seller Hub **Orders** "
    "reports (CSV, from any eBay site, also as re-saved by Excel); the format is recognised by itself. "
    "An import is all or nothing: if any order has a problem, nothing is written and every problem is "
    "listed — unless you choose to skip invalid orders. Importing the same file again changes nothing; "
    "changed orders are updated. eBay's money records import here too: the Seller Hub **Transaction "
    "report** (Payments → Reports) or Finances API **getTransactions** / **getPayouts** pages."
)

with ui.guard():
    existing = services.accounts(ctx, viewer)
    # a new key after each run empties the uploader: files that were fine wait below ("kept"),
    # so the next try needs only the corrected files; files with problems are held too, for
    # "Skip invalid orders" (the failed run's advice) without uploading them again
    generation = st.session_state.setdefault("import_generation", 0)
    kept: list[services.ImportFile] = st.session_state.setdefault("import_kept", [])
    held: list[services.ImportFile] = st.session_state.setdefault("import_held", [])
    uploaded = st.file_uploader(
        "Order or money files",
        type=["json", "csv", "txt", "tsv"],
        accept_multiple_files=True,
        key=f"import_files_{generation}",
    )
    fresh_files = [services.ImportFile(f.name, f.getvalue()) for f in uploaded or []]
    # a file uploaded again under its name is the corrected copy: it replaces the one kept or held
    replaced = {f.name for f in fresh_files}
    kept = [f for f in kept if f.name not in replaced]
    held = [f for f in held if f.name not in replaced]
    if kept or held:
        left, right = st.columns([5, 1])
        if kept:
            names = ", ".join(f.name for f in kept)
            left.info(f"Kept from the last try (they had no problems): {ui.md(names)}", icon="📎")
        if held:
            names = ", ".join(f.name for f in held)
            left.info(
                f"Left out, with problems: {ui.md(names)}. Upload a corrected copy under the same name, "
                "or tick “Skip invalid orders” to import their valid orders.",
                icon="📎",
            )
        if right.button("Forget them", key="import_forget"):
            st.session_state["import_kept"] = []
            st.session_state["import_held"] = []
            st.rerun()
    # only an admin may create an account (the services refuse it to anyone else, too)
    targets = ["An existing account", "A new account"] if viewer.is_admin else ["An existing account"]
    # after an import, the form turns to the account imported into: a new account exists now, so
    # the next upload goes to it rather than "creating" it again
    switch_to = st.session_state.pop("import_switch_to", None)
    if switch_to is not None and any(a.id == switch_to for a in existing):
        st.session_state["import_target"] = targets[0]
        st.session_state["import_account"] = switch_to
    target = st.radio(
        "Import into",
        targets,
        horizontal=True,
        disabled=not existing,
        key="import_target",
        index=0 if existing else 1,
    )
    zones = services.timezones()
    # the choice that names no zone: the import then gives a new account the zone of its files'
    # eBay site (their dates are that site's local time), else the browser's (a seller's files are
    # most likely in their own local time), else the EBAYDASH_TIMEZONE setting's
    browser = ui.browser_timezone()
    fallback = browser if browser in zones else ctx.settings.timezone
    from_site = f"From the files' eBay site (else {fallback})"
    clash = None
    if existing and target == targets[0]:
        ids = [a.id for a in existing]
        # the default goes through the session state: a widget given both an index and a value
        # set in the session state (after an import, above) makes Streamlit log a warning
        if st.session_state.get("import_account") not in ids:
            current = st.session_state.get("account_id")
            st.session_state["import_account"] = current if current in ids else ids[0]
        chosen = st.selectbox(
            "Account",
            ids,
            format_func=lambda i: next(a.name for a in existing if a.id == i),
            key="import_account",
        )
        account = next(a for a in existing if a.id == chosen)
        account_name, zone_choices, zone_default = account.name, zones, account.timezone
        zone_help = "The account's own zone is the default: its days follow it."
        st.caption(f"Currency {ui.md(account.currency)}; orders in another currency are refused.")
    else:
        account_name = st.text_input("New account name", max_chars=100, key="import_new_account")
        # an import into a name that exists writes to that account, with its zone and currency,
        # not those chosen here: refused, pointing to the existing account
        clash = services.imports.existing_account(ctx, viewer, account_name)
        if clash is not None:
            st.error(
                f"An account called “{ui.md(clash.name)}” exists: choose it under “{targets[0]}”.",
                icon="⛔",
            )
        zone_choices, zone_default = [from_site, *zones], from_site
        zone_help = (
            f"The new account keeps the zone chosen here, and its days follow it. “{from_site}” takes "
            f"the zone of the site the files say they come from, or {fallback} (your browser's, else "
            "the EBAYDASH_TIMEZONE setting) when they do not say it."
        )
        st.caption(
            "The account takes its currency and eBay site from the seller's side of the files (the "
            "report's money and language, the API's listing site) and its eBay seller id from the files."
        )
    picked = st.selectbox(
        "Time zone of the Seller Hub dates",
        zone_choices,
        index=zone_choices.index(zone_default) if zone_default in zone_choices else 0,
        key=f"import_zone_{account_name}",
        help=(
            "Seller Hub reports give their dates in the local time of their eBay site without saying "
            "which (ebay.com: Pacific time, ebay.co.uk: UK time, ebay.de: German time); JSON dates are "
            "UTC. " + zone_help
        ),
    )
    timezone = None if picked == from_site else picked
    skip_invalid = st.checkbox(
        "Skip invalid orders (import the valid ones and list the others)", key="import_skip"
    )
    files = kept + (held if skip_invalid else []) + fresh_files
    ready = bool(files) and bool(account_name.strip()) and clash is None
    if st.button("Import", type="primary", disabled=not ready) and ready:
        bar = st.progress(0.0, text="Starting")

        def show_progress(fraction: float, step: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=step)

        imported = services.import_files(
            ctx,
            viewer,
            files,
            account_name=account_name,
            timezone=timezone,
            fallback_timezone=fallback,
            fallback_source=(
                "your browser's zone" if browser in zones else "from the EBAYDASH_TIMEZONE setting"
            ),
            skip_invalid=skip_invalid,
            progress=show_progress,
        )
        st.session_state["import_report"] = imported
        failed = {e.file for e in imported.errors}
        if imported.committed:
            st.session_state["import_kept"], st.session_state["import_held"] = [], []
        else:
            st.session_state["import_kept"] = [f for f in files if f.name not in failed]
            # those with problems in this run, and those held before that were not in it
            still_held = [] if skip_invalid else held
            st.session_state["import_held"] = [f for f in files if f.name in failed] + still_held
        st.session_state["import_generation"] = generation + 1
        if imported.committed:
            # show the imported account everywhere, with a sidebar that knows about it
            st.session_state["select_account_id"] = imported.account_id
            # and on this form (set before its widgets, on the next run): a new account exists
            # now, the next upload goes to it
            st.session_state["import_switch_to"] = imported.account_id
        st.rerun()

    report = st.session_state.get("import_report")
    if report is not None:
        st.divider()
        # the summary and warnings quote account and file names and values from the files
        if report.committed:
            st.success(ui.message(report.summary), icon="✅")
        elif report.failed:
            st.error(ui.message(report.summary), icon="⛔")
        else:
            st.info(ui.message(report.summary))
        if report.committed:
            keys = ("imported", "updated", "unchanged", "older", "duplicates", "rejected")
            shown = {k: v for k, v in report.counts().items() if k in keys and (v or k in keys[:3])}
        else:
            # nothing was written: no zero "imported" tiles that could pass for a result
            shown = {k: v for k, v in report.counts().items() if k in ("rejected", "held back") and v}
        if shown:
            for column, (label, value) in zip(st.columns(len(shown)), shown.items(), strict=True):
                column.metric(label.capitalize(), f"{value:,}")
            st.caption(
                f"{report.accounted:,} of the {report.orders_in:,} {report.kind} in the files are "
                "accounted for."
            )
        for warning in report.warnings:
            st.warning(ui.message(warning), icon="⚠️")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "File": f.name,
                        "Format": f.format,
                        report.kind.capitalize(): f.orders,
                        "Valid": f.valid,
                        "Rejected": f.rejected,
                        "Problems": f.errors,
                        "Not orders": f.not_orders,
                    }
                    for f in report.files
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        if report.not_orders:
            with st.expander(f"Rows that are not orders ({report.not_orders_count:,})"):
                st.dataframe(
                    pd.DataFrame(
                        [
                            {"File": r.file, "Line": str(r.line), "What it is": r.reason}
                            for r in report.not_orders
                        ]
                    ),
                    hide_index=True,
                    width="stretch",
                )
        if report.errors:
            st.subheader(f"Problems ({report.problems_count:,})")
            ui.problem_list(report.errors)
            if len(report.errors) > ui.PROBLEMS_LISTED:
                listed = len(report.errors)
                label = f"All {listed:,} problems as a table"
                if report.problems_count > listed:
                    label = f"The first {listed:,} problems as a table (the CSV holds as many)"
                st.caption(f"The first {ui.PROBLEMS_LISTED} are listed above.")
                with st.expander(label):
                    # set widths with the text wrapped whole: sized to their text, File and
                    # Problem were cut off at a 1400 px window
                    ui.wrapped_table(
                        [
                            {
                                "File": e.file,
                                "Line": "" if e.line is None else str(e.line),
                                "Order": e.order_id or "",
                                "Column": e.field or "",
                                "Problem": e.reason,
                            }
                            for e in report.errors
                        ],
                        PROBLEM_WIDTHS,
                    )
            st.download_button(
                "Download the problems as CSV",
                report.rejects_csv(),
                file_name="import-problems.csv",
                mime="text/csv",
            )
        if report.committed:
            st.page_link("pages/overview.py", label="See the overview of this account", icon="📊")
