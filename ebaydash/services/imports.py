"""Importing a seller's own order files (Fulfillment API JSON, Seller Hub CSV) into an account.

One call does it all: read and check every file, then write everything in one transaction — or
nothing, when any row is bad (unless ``skip_invalid``). The report says what happened to every
order in the input: imported + updated + unchanged + older + duplicates + rejected + held back
always equals the orders found. Afterwards the account's cached figures are invalidated, so the
next page view shows the new numbers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ebaydash.context import Context
from ebaydash.db import upsert
from ebaydash.db.upsert import Progress
from ebaydash.errors import InvalidInput
from ebaydash.importers import FORMAT_LABELS, ParsedFile, RowError, checks, read_file, rejects
from ebaydash.models import OrderRecord
from ebaydash.services import namespaces
from ebaydash.services._measure import measured

MAX_ACCOUNT_NAME = 100


@dataclass(frozen=True)
class ImportFile:
    """One file to import: its name (for messages) and its bytes."""

    name: str
    data: bytes


@dataclass
class FileSummary:
    name: str
    format: str
    orders: int
    valid: int
    rejected: int
    errors: int


@dataclass
class ImportReport:
    """What an import did. The counts are orders and always add up to ``orders_in``."""

    account_name: str
    account_id: int | None = None
    account_created: bool = False
    committed: bool = False
    files: list[FileSummary] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    orders_in: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0  # the stored copy had changed more recently: kept
    duplicates: int = 0  # further copies of an order within this import
    rejected: int = 0  # invalid orders
    held_back: int = 0  # valid orders not written because the import was rejected
    seconds: float = 0.0

    @property
    def accounted(self) -> int:
        return (
            self.imported
            + self.updated
            + self.unchanged
            + self.older
            + self.duplicates
            + self.rejected
            + self.held_back
        )

    @property
    def ok(self) -> bool:
        """True unless bad input stopped the import."""
        return self.committed or not self.errors

    def counts(self) -> dict[str, int]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "older": self.older,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "held back": self.held_back,
        }

    @property
    def summary(self) -> str:
        if self.committed:
            head = (
                f"Imported into {self.account_name!r}"
                + (" (a new account)" if self.account_created else "")
                + f": {self.imported:,} new, {self.updated:,} updated, {self.unchanged:,} unchanged"
            )
            if self.older:
                head += f", {self.older:,} kept (the stored copy is newer)"
            if self.duplicates:
                head += f", {self.duplicates:,} duplicate copies skipped"
            if self.rejected:
                head += f", {self.rejected:,} rejected (see the error report)"
            return head + f" — {self.orders_in:,} orders in {self.seconds:.1f} s."
        if self.errors:
            return (
                f"Nothing was imported: {self.rejected:,} of {self.orders_in:,} orders have problems "
                f"({len(self.errors):,} listed below). Fix them and import again, or choose to skip "
                "invalid rows to import the other "
                f"{self.held_back:,}."
            )
        return "The files hold no orders; nothing was imported."

    def rejects_csv(self) -> str:
        return rejects.rejects_csv(self.errors)


def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise InvalidInput("Give the account a name.")
    if len(cleaned) > MAX_ACCOUNT_NAME:
        raise InvalidInput(f"An account name is limited to {MAX_ACCOUNT_NAME} characters.")
    return cleaned


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{name!r} is not a time zone; use a name such as Europe/Berlin.") from None


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:56] or "account"


@measured("import_orders")
def import_orders(
    ctx: Context,
    files: Sequence[ImportFile],
    *,
    account_name: str,
    timezone: str | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``files`` into the account called ``account_name`` (created when there is none).

    ``timezone`` is the zone of the Seller Hub dates (default: the account's, else the setting).
    Problems in the files do not raise: they come back in the report's ``errors`` (file, line,
    field, reason), with ``committed`` False unless ``skip_invalid``.

    Raises :class:`~ebaydash.errors.InvalidInput` for no files, an empty or too long account name
    or an unknown time zone; :class:`~ebaydash.errors.ImportFailed` when the database refuses a
    row; :class:`~ebaydash.errors.DatabaseError` when it cannot be reached or is too slow. Nothing
    is written in any of these cases.
    """
    started = time.perf_counter()
    report_progress = progress or (lambda _fraction, _step: None)
    name = _clean_name(account_name)
    if not files:
        raise InvalidInput("Choose at least one file to import.")
    existing = upsert.find_account(ctx.db, name)
    zone = _zone(timezone or (existing.timezone if existing is not None else ctx.settings.timezone))
    report = ImportReport(account_name=existing.name if existing is not None else name)

    valid: list[OrderRecord] = []
    seller_ids: list[str] = []
    parsed_files: list[ParsedFile] = []
    total_bytes = sum(len(f.data) for f in files) or 1
    done_bytes = 0
    for file in files:
        report_progress(0.45 * done_bytes / total_bytes, f"Reading {file.name}")
        parsed = read_file(
            file.name,
            file.data,
            zone=zone,
            default_currency=existing.currency if existing is not None else "USD",
            max_bytes=ctx.settings.import_max_mb * 2**20,
        )
        done_bytes += len(file.data)
        parsed_files.append(parsed)
        valid.extend(parsed.orders)
        report.errors.extend(parsed.errors)
        report.warnings.extend(parsed.warnings)
        if parsed.seller_id:
            seller_ids.append(parsed.seller_id)
        report.orders_in += parsed.orders_found
        report.rejected += parsed.rejected_orders
        report.files.append(
            FileSummary(
                name=file.name,
                format=FORMAT_LABELS[parsed.format],
                orders=parsed.orders_found,
                valid=len(parsed.orders),
                rejected=parsed.rejected_orders,
                errors=len(parsed.errors),
            )
        )

    report_progress(0.5, "Checking the orders together")
    report.warnings.extend(checks.completeness_warnings(parsed_files))
    currency = checks.account_currency(valid, existing.currency if existing is not None else None)
    if currency is not None:
        valid, currency_problems = checks.currency_errors(
            valid, currency, report.account_name, existing=existing is not None
        )
        report.errors.extend(currency_problems)
        report.rejected += len(currency_problems)
        for summary in report.files:
            moved = sum(1 for e in currency_problems if e.file == summary.name)
            summary.valid -= moved
            summary.rejected += moved
            summary.errors += moved
    valid, report.duplicates = checks.deduplicate(valid)
    sellers = sorted({s for s in seller_ids} | {o.seller_id for o in valid if o.seller_id})
    ebay_user_id = (
        existing.ebay_user_id if existing is not None else (sellers[0] if len(sellers) == 1 else _slug(name))
    )
    report.warnings.extend(checks.seller_warnings(valid, seller_ids, ebay_user_id))

    if (report.errors and not skip_invalid) or not valid:
        report.held_back = len(valid)
        report.account_id = existing.id if existing is not None else None
        report.seconds = time.perf_counter() - started
        report_progress(1.0, "Stopped: nothing was imported" if report.errors else "Nothing to import")
        return report

    report_progress(0.5, "Writing")
    marketplace = next((o.marketplace for o in valid if o.marketplace), None) or "EBAY_US"
    written = upsert.write_import(
        ctx.db,
        valid,
        account_name=name,
        ebay_user_id=ebay_user_id,
        currency=currency or "USD",
        timezone=zone.key,
        marketplace=marketplace,
        progress=lambda fraction, step: report_progress(0.5 + 0.48 * fraction, f"Writing: {step}"),
    )
    account_id, counts = written.account_id, written.counts
    report.account_created = written.account_created
    report.committed = True
    report.account_id = account_id
    report.imported, report.updated = counts.imported, counts.updated
    report.unchanged, report.older = counts.unchanged, counts.older
    # the account's figures, and the accounts list (its newest order date), are stale now
    ctx.cache.invalidate(namespaces.account(account_id))
    ctx.cache.invalidate(namespaces.GLOBAL)
    report.seconds = time.perf_counter() - started
    report_progress(1.0, "Done")
    return report


def timezones() -> list[str]:
    """Time zone names for the import page's picker, the common ones first."""
    from zoneinfo import available_timezones

    common = [
        "UTC",
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "Europe/London",
        "Europe/Berlin",
        "Australia/Sydney",
    ]
    return common + sorted(available_timezones() - set(common))
