"""Importing eBay's money records (Transaction report, Finances API pages) and the seller's cost of
goods into an account.

Same rules as order files (:mod:`ebaydash.services.imports`): every file is read and checked
first; unless a problem stops the import (and ``skip_invalid`` is not set), everything is written
in ONE transaction; re-importing changes nothing. One record per eBay transaction id across the
files (:func:`ebaydash.importers.money.checks.deduplicate`). An account keeps one currency: a
transaction paid out in another currency is refused, as an order in another currency is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from ebaydash.context import Context
from ebaydash.db import money as money_db
from ebaydash.db import upsert
from ebaydash.db.money import CostRow, TransactionWrite
from ebaydash.db.upsert import Progress
from ebaydash.errors import InvalidInput, NotFound
from ebaydash.importers.detect import Unreadable, decode, detect
from ebaydash.importers.encoding import TextSource
from ebaydash.importers.money import checks as money_checks
from ebaydash.importers.money.fees import CHARITY_DONATION, FEE_GROUPS
from ebaydash.importers.money.reader import read_money_file
from ebaydash.importers.money.records import MoneyFile, MoneyTransaction, Payout
from ebaydash.importers.money.sniff import FORMAT_LABELS, MONEY_FORMATS
from ebaydash.importers.records import RowError
from ebaydash.money import to_money
from ebaydash.services import access, namespaces
from ebaydash.services._access import for_account, scoped
from ebaydash.services._measure import measured
from ebaydash.services.imports import (
    FileSummary,
    ImportFile,
    ImportReport,
    check_may_import,
    import_orders,
    import_target,
    invalidate_account,
)
from ebaydash.viewer import Viewer

MAX_COSTS = 100_000

# Codes that come off the proceeds but are not eBay's fees: a donation the seller chose to give.
NOT_FEES: tuple[str, ...] = (CHARITY_DONATION,)
AD_FEE_TYPES: tuple[str, ...] = tuple(
    sorted(code for code, group in FEE_GROUPS.items() if group == "advertising")
)  # rows of a cost file: a shop's catalogue, many times over


def _convert(amount: Decimal, rate: Decimal | None) -> Decimal:
    """``amount`` in the payout currency: at the transaction's rate, half-up to the cent."""
    return amount if rate is None else to_money(amount * rate)


def transaction_write(transaction: MoneyTransaction, source_format: str) -> TransactionWrite:
    """The rows one transaction is stored as (columns in :mod:`ebaydash.db.schema`).

    Fees are stored per line (``line_no`` from 1, as the record's lines) and what the lines do not
    carry at ``line_no`` 0, so a transaction's fee rows always add up to its ``fees``."""
    rate = transaction.exchange_rate
    lines = []
    fees: list[dict[str, Any]] = []
    on_lines: dict[str, Decimal] = {}
    for line_no, line in enumerate(transaction.lines, start=1):
        lines.append(
            {
                "line_no": line_no,
                "line_item_id": line.line_item_id,
                "item_id": line.item_id,
                "sku": line.sku,
                "title": (line.title or None) and line.title[:300],
                "quantity": line.quantity,
            }
        )
        for code, amount in line.fees:
            fees.append(
                {
                    "line_no": line_no,
                    "fee_type": code,
                    "amount": amount,
                    "amount_payout": _convert(amount, rate),
                }
            )
            on_lines[code] = on_lines.get(code, Decimal("0.00")) + amount
    for code, amount in transaction.fees:
        rest = amount - on_lines.get(code, Decimal("0.00"))
        if rest != 0:
            fees.append(
                {"line_no": 0, "fee_type": code, "amount": rest, "amount_payout": _convert(rest, rate)}
            )
    row = {
        "ebay_transaction_id": transaction.transaction_id,
        "type": transaction.type,
        "booking_entry": transaction.booking_entry,
        "booked_on": transaction.booked_on,
        "transaction_date": transaction.transaction_date,
        "time_known": transaction.time_known,
        "currency": transaction.currency,
        "payout_currency": transaction.payout_currency,
        "exchange_rate": rate,
        "gross": transaction.gross,
        "fee_total": transaction.fee_total,
        "net": transaction.net,
        "gross_payout": _convert(transaction.gross, rate),
        "fee_total_payout": sum((f["amount_payout"] for f in fees), Decimal("0.00")),
        "fees_payout": sum(
            (f["amount_payout"] for f in fees if f["fee_type"] not in NOT_FEES), Decimal("0.00")
        ),
        "ad_fees_payout": sum(
            (f["amount_payout"] for f in fees if f["fee_type"] in AD_FEE_TYPES), Decimal("0.00")
        ),
        "order_id": transaction.order_id,
        "payout_id": transaction.payout_id,
        "item_id": transaction.item_id,
        "ebay_type": transaction.ebay_type[:64],
        "status": transaction.status,
        "buyer": transaction.buyer and transaction.buyer[:128],
        "memo": transaction.memo and transaction.memo[:255],
        "source_format": source_format,
    }
    return TransactionWrite(row, lines, fees)


def payout_row(payout: Payout) -> dict[str, Any]:
    return {
        "ebay_payout_id": payout.payout_id,
        "amount": payout.amount,
        "currency": payout.currency,
        "paid_on": payout.paid_on,
        "payout_date": payout.payout_date,
        "status": payout.status,
        "instrument": payout.instrument and payout.instrument[:200],
        "transaction_count": payout.transaction_count,
        "fee": payout.fee,
    }


def file_kind(file: ImportFile) -> str:
    """The format of ``file`` from its first bytes (:func:`ebaydash.importers.detect.detect`):
    an order format, a money format, or ``unknown`` (also for a file that cannot be decoded)."""
    try:
        with file.open() as stream:
            sample = TextSource(stream).sample
    except (Unreadable, OSError, UnicodeDecodeError):
        return "unknown"
    return detect(sample)


def import_files(
    ctx: Context,
    viewer: Viewer,
    files: Sequence[ImportFile],
    *,
    account_name: str,
    timezone: str | None = None,
    fallback_timezone: str | None = None,
    fallback_source: str | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import order files or money files, told apart by their content: when every file is a
    Transaction report or a Finances API page, :func:`import_money`; otherwise
    :func:`~ebaydash.services.imports.import_orders` (which names a money file among order files
    as a problem, so a mixed import writes nothing). Arguments and errors as those two."""
    if files and all(file_kind(f) in MONEY_FORMATS for f in files):
        report = import_money(
            ctx,
            viewer,
            files,
            account_name=account_name,
            timezone=timezone or fallback_timezone,
            skip_invalid=skip_invalid,
        )
        if progress is not None:
            progress(1.0, "Done")
        return report
    return import_orders(
        ctx,
        viewer,
        files,
        account_name=account_name,
        timezone=timezone,
        fallback_timezone=fallback_timezone,
        fallback_source=fallback_source,
        skip_invalid=skip_invalid,
        progress=progress,
    )


@measured("import_money")
@scoped
def import_money(
    ctx: Context,
    viewer: Viewer,
    files: Sequence[ImportFile],
    *,
    account_name: str,
    timezone: str | None = None,
    skip_invalid: bool = False,
) -> ImportReport:
    """Import Transaction reports and Finances API pages into the account
    called ``account_name`` (created when there is none, in the transactions' payout currency).

    Problems in the files do not raise: they come back in ``errors`` (file, line, field, reason)
    and nothing is written unless ``skip_invalid``. The report counts records (transactions and
    payouts) where an order import counts orders (``kind`` "money records").

    Raises :class:`~ebaydash.errors.InvalidInput` for no files or an unknown time zone, and
    :class:`~ebaydash.errors.ImportFailed` when the database refuses a row (nothing written);
    :class:`~ebaydash.errors.NotAllowed` when ``viewer`` has no grant on the account (or, not
    being an admin, would create one).
    """
    started = time.perf_counter()
    name = " ".join((account_name or "").split())
    if not name:
        raise InvalidInput("Give the account a name.")
    if not files:
        raise InvalidInput("Choose at least one file to import.")
    existing = import_target(ctx, viewer, name)
    zone_name = timezone or (existing.timezone if existing is not None else ctx.settings.timezone)
    try:
        zone = ZoneInfo(zone_name)
    except (ValueError, KeyError, OSError):
        raise InvalidInput(f"{zone_name!r} is not a time zone; use a name such as Europe/Berlin.") from None
    report = ImportReport(account_name=existing.name if existing is not None else name, kind="money records")
    default_currency = existing.currency if existing is not None else "USD"
    max_bytes = ctx.settings.import_max_mb * 2**20

    parsed: list[MoneyFile] = []
    for file in files:
        file_name = file.name
        with file.open() as stream:
            data = stream.read()
        result = read_money_file(
            file_name, data, zone=zone, default_currency=default_currency, max_bytes=max_bytes
        )
        parsed.append(result)
        report.errors.extend(result.errors)
        report.warnings.extend(result.warnings)
        report.orders_in += result.records_found
        report.rejected += result.rejected
        report.files.append(
            FileSummary(
                name=file_name,
                format=FORMAT_LABELS.get(result.format, "unknown"),
                orders=result.records_found,
                valid=len(result.transactions) + len(result.payouts),
                rejected=result.rejected,
                errors=len(result.errors),
                readable=result.readable,
            )
        )
    report.warnings.extend(money_checks.completeness_warnings(parsed))
    formats = {t.transaction_id: p.format for p in parsed for t in p.transactions}
    transactions, dropped, conflicts = money_checks.deduplicate([t for p in parsed for t in p.transactions])
    all_count = sum(len(p.transactions) for p in parsed)
    report.errors.extend(conflicts)
    # copies refused for disagreeing are rejected; the others dropped are duplicates
    conflicted = all_count - len(transactions) - dropped
    report.rejected += conflicted
    report.duplicates += dropped

    payout_list: dict[str, Payout] = {}
    for p in parsed:
        for payout in p.payouts:
            if payout.payout_id in payout_list:
                report.duplicates += 1
            else:
                payout_list[payout.payout_id] = payout

    currency = existing.currency if existing is not None else None
    if currency is None:
        seen = sorted({t.payout_currency for t in transactions} | {p.currency for p in payout_list.values()})
        currency = seen[0] if len(seen) == 1 else None
        if len(seen) > 1:
            report.errors.append(
                RowError(
                    parsed[0].name,
                    None,
                    "Payout currency",
                    f"the files are paid out in {', '.join(seen)}; an account keeps one currency, so import "
                    "each currency into its own account",
                )
            )
    report.currency = currency
    keep: list[MoneyTransaction] = []
    for t in transactions:
        if currency is not None and t.payout_currency != currency:
            report.rejected += 1
            report.errors.append(
                RowError(
                    t.source.file,
                    t.source.line,
                    "Payout currency",
                    f"transaction {t.transaction_id} is paid out in {t.payout_currency}, but "
                    f"{report.account_name!r} keeps its figures in {currency}",
                )
            )
        else:
            keep.append(t)
    kept_payouts = []
    for payout in payout_list.values():
        if currency is not None and payout.currency != currency:
            report.rejected += 1
            report.errors.append(
                RowError(
                    payout.source.file,
                    payout.source.line,
                    "Payout currency",
                    f"payout {payout.payout_id} is in {payout.currency}, but {report.account_name!r} "
                    f"keeps its figures in {currency}",
                )
            )
        else:
            kept_payouts.append(payout)
    to_write = len(keep) + len(kept_payouts)
    report.problems_count = len(report.errors)
    if (report.errors and not skip_invalid) or not to_write:
        report.held_back = to_write
        report.account_id = existing.id if existing is not None else None
        report.seconds = time.perf_counter() - started
        return report

    seller_ids = {p.seller_id for p in parsed if p.seller_id}
    written = money_db.write_money(
        ctx.db,
        [transaction_write(t, formats.get(t.transaction_id, "unknown")) for t in keep],
        [payout_row(p) for p in kept_payouts],
        account_name=name,
        ebay_user_id=existing.ebay_user_id
        if existing is not None
        else (sorted(seller_ids)[0] if len(seller_ids) == 1 else _slug(name)),
        currency=currency or default_currency,
        timezone=zone.key,
        marketplace=existing.marketplace if existing is not None else "EBAY_US",
    )
    report.committed = True
    report.account_id = written.account_id
    report.account_created = written.account_created
    report.imported = written.imported + written.payouts_imported
    report.updated = written.updated + written.payouts_updated
    report.unchanged = written.unchanged + written.payouts_unchanged
    invalidate_account(ctx, written.account_id)
    access.audit_import(
        ctx,
        viewer,
        account_id=written.account_id,
        account_name=report.account_name,
        files=[f.name for f in files],
        counts={"records_in": report.orders_in, **report.counts(), "account_created": report.account_created},
    )
    report.seconds = time.perf_counter() - started
    return report


def _slug(name: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:56] or "account"


# -- cost of goods --------------------------------------------------------------------------------

_COST_HEADERS = {
    "sku": ("sku", "custom label", "custom label (sku)", "custom_label"),
    "cost": ("cost", "unit cost", "unit_cost", "cost of goods", "cogs"),
    "currency": ("currency", "cost currency"),
    "valid_from": ("valid_from", "valid from", "from", "effective", "effective date", "date"),
}


@dataclass
class CostImportReport:
    """What a cost import did (rows added, changed, unchanged) or why nothing was written."""

    account_name: str
    file: str
    committed: bool = False
    rows: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.committed:
            return (
                f"Costs for {self.account_name!r} from {self.file}: {self.added:,} added, "
                f"{self.changed:,} changed, {self.unchanged:,} unchanged (every change is logged)."
            )
        return f"Nothing was imported: {self.file} has problems ({len(self.errors):,} listed below)."


def _cost_amount(text: str) -> tuple[Decimal | None, str | None]:
    """A unit cost as written (``1.50``, ``1,50``, ``1,234.50``): ``(amount, None)``, or
    ``(None, why not)``."""
    raw = text.replace(",", ".") if text.count(",") == 1 and "." not in text else text.replace(",", "")
    try:
        cost = Decimal(raw)
        if not cost.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        return None, f"{text!r} is not an amount"
    if cost < 0:
        return None, f"{text!r} is negative"
    if cost != cost.quantize(Decimal("0.01")):
        return None, f"{text!r} has more than two decimals"
    if cost >= Decimal("10000000000"):
        return None, f"{text!r} is too large"
    return cost, None


def parse_costs(name: str, data: bytes, *, currency: str) -> tuple[list[CostRow], list[RowError]]:
    """A cost file's rows: CSV with columns SKU, cost, currency (optional, must be ``currency``),
    valid_from (ISO date ``YYYY-MM-DD``). Problems name file, line, field and reason."""
    errors: list[RowError] = []
    try:
        text = decode(data)
    except Unreadable as exc:
        return [], [RowError(name, exc.line, None, str(exc))]
    if not text.strip():
        return [], [RowError(name, None, None, "the file is empty")]
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, [])
    wanted = {k: None for k in _COST_HEADERS}
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        key = title.strip().lstrip("\ufeff").casefold()
        for field_name, aliases in _COST_HEADERS.items():
            if key in aliases and field_name not in columns:
                columns[field_name] = index
    missing = [k for k in ("sku", "cost", "valid_from") if k not in columns]
    del wanted
    if missing:
        return [], [
            RowError(
                name,
                1,
                None,
                f"the header has no {', '.join(missing)} column; expected SKU, cost, "
                "currency (optional), valid_from",
            )
        ]
    rows: dict[tuple[str, dt.date], CostRow] = {}
    for line_no, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= MAX_COSTS:
            errors.append(RowError(name, line_no, None, f"a cost file holds at most {MAX_COSTS:,} rows"))
            break

        def cell(key: str, cells: list[str] = cells) -> str:
            index = columns.get(key)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        # every problem of the row, not the first only: a seller fixes the file once
        problems: list[tuple[str, str]] = []
        sku = cell("sku")
        if not sku:
            problems.append(("SKU", "empty"))
        elif len(sku) > 80:
            problems.append(("SKU", "longer than 80 characters"))
        cost, cost_problem = _cost_amount(cell("cost"))
        if cost_problem:
            problems.append(("cost", cost_problem))
        row_currency = cell("currency").upper()
        if row_currency and row_currency != currency:
            why = f"{row_currency} is not the account's currency ({currency}); give costs in {currency}"
            problems.append(("currency", why))
        try:
            valid_from = dt.date.fromisoformat(cell("valid_from"))
        except ValueError:
            problems.append(("valid_from", f"{cell('valid_from')!r} is not a date (YYYY-MM-DD)"))
        if problems or cost is None:
            errors.extend(RowError(name, line_no, field, reason) for field, reason in problems)
            continue
        row_key = (sku, valid_from)
        if row_key in rows and rows[row_key].unit_cost != cost:
            errors.append(
                RowError(
                    name, line_no, "cost", f"{sku} from {valid_from} is given twice with different costs"
                )
            )
            continue
        rows[row_key] = CostRow(sku, valid_from, to_money(cost))
    return sorted(rows.values()), errors


def _account_named(ctx: Context, account_name: str) -> Any:
    found = upsert.find_account(ctx.db, account_name)
    if found is None:
        raise NotFound(
            f"There is no account called {account_name!r}; import its orders or money records first."
        )
    return found


@measured("import_costs")
@scoped
def import_costs(
    ctx: Context, viewer: Viewer, name: str, data: bytes, *, account_name: str
) -> CostImportReport:
    """Add or change costs of goods from a CSV file (see :func:`parse_costs`) — all rows or none,
    every change logged. Raises :class:`~ebaydash.errors.NotFound` for an unknown account and
    :class:`~ebaydash.errors.NotAllowed` for one ``viewer`` has no grant on."""
    check_may_import(ctx, viewer, account_name)
    acct = _account_named(ctx, account_name)
    viewer.require_account(acct.id)
    report = CostImportReport(account_name=acct.name, file=name)
    rows, errors = parse_costs(name, data, currency=acct.currency)
    report.rows = len(rows) + len(errors)
    report.errors = errors
    if errors or not rows:
        if not errors:
            report.errors.append(RowError(name, None, None, "the file holds no costs"))
        return report
    written = money_db.write_costs(ctx.db, acct.id, rows, file=name[:255], now=dt.datetime.now(dt.UTC))
    report.committed = True
    report.added, report.changed, report.unchanged = written.added, written.changed, written.unchanged
    invalidate_account(ctx, acct.id)
    return report


@for_account
def costs(ctx: Context, viewer: Viewer, account_id: int) -> list[CostRow]:
    """The account's costs of goods, by SKU then valid-from day."""
    return [
        CostRow(r.sku, _as_date(r.valid_from), to_money(r.unit_cost))
        for r in money_db.list_costs(ctx.db, account_id)
    ]


@dataclass(frozen=True)
class CostChange:
    changed_at: dt.datetime
    sku: str
    valid_from: dt.date
    old_unit_cost: Decimal | None
    new_unit_cost: Decimal | None
    source: str
    file: str | None


@for_account
def cost_changes(ctx: Context, viewer: Viewer, account_id: int, limit: int = 200) -> list[CostChange]:
    """The newest cost changes of the account (CSV imports and edits in the app), newest first."""
    return [
        CostChange(
            r.changed_at, r.sku, _as_date(r.valid_from), r.old_unit_cost, r.new_unit_cost, r.source, r.file
        )
        for r in money_db.cost_changes(ctx.db, account_id, limit)
    ]


@for_account
def save_costs(
    ctx: Context, viewer: Viewer, account_id: int, rows: Sequence[dict[str, Any]]
) -> tuple[int, int, int]:
    """Make the account's costs exactly ``rows`` (the editor's table: dicts with ``sku``,
    ``valid_from``, ``unit_cost``), logging each change. Returns (added, changed, removed).
    Raises :class:`~ebaydash.errors.InvalidInput` naming the row and field of a bad value; nothing
    is saved then."""
    clean: dict[tuple[str, dt.date], CostRow] = {}
    for n, row in enumerate(rows, start=1):
        sku = str(row.get("sku") or "").strip()
        if not sku or len(sku) > 80:
            raise InvalidInput(f"Row {n}: SKU is empty or longer than 80 characters.")
        valid_from = row.get("valid_from")
        if isinstance(valid_from, dt.datetime):
            valid_from = valid_from.date()
        if not isinstance(valid_from, dt.date):
            try:
                valid_from = dt.date.fromisoformat(str(valid_from))
            except ValueError:
                raise InvalidInput(f"Row {n} ({sku}): valid from {valid_from!r} is not a date.") from None
        try:
            cost = Decimal(str(row.get("unit_cost")))
            if not cost.is_finite() or cost < 0:
                raise InvalidOperation
        except InvalidOperation:
            raise InvalidInput(
                f"Row {n} ({sku}): the cost {row.get('unit_cost')!r} is not an amount ≥ 0."
            ) from None
        if (sku, valid_from) in clean:
            raise InvalidInput(f"Row {n}: {sku} from {valid_from} is in the table twice.")
        clean[(sku, valid_from)] = CostRow(sku, valid_from, to_money(cost))
    written = money_db.replace_costs(ctx.db, account_id, sorted(clean.values()), now=dt.datetime.now(dt.UTC))
    ctx.cache.invalidate(namespaces.account(account_id))
    return written.added, written.changed, written.removed


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
