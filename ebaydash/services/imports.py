"""Importing a seller's own order files (Fulfillment API JSON, Seller Hub CSV) into an account.

One call does it all, reading every file twice as a stream, so memory does not grow with the files:

0. for a new account without a zone named, the first orders of each file are read beforehand: the
   eBay site they come from gives the zone in which the check reads the reports' dates (a site's
   report writes its local time without saying so); the site all orders tell settles it;
1. **check**: every order of every file is parsed and checked; an index keeps a few numbers per
   valid order (which copy of an order is the newest, its currency), not the orders themselves;
2. **decide**: the account's currency (the existing account's, else the seller's side of the data),
   which copy of each order to write, which orders are refused for their currency;
3. **write**: unless a problem stops the import (and ``skip_invalid`` is not set), the files are
   parsed again and the chosen orders written in batches of :data:`BATCH_ORDERS`, all inside ONE
   transaction — all or nothing.

The report says what happened to every order in the input: imported + updated + unchanged + older
+ duplicates + rejected + held back always equals the orders found; rows that are not orders
(unpaid commitments, footers) are listed apart. Afterwards the account's cached figures are
invalidated, so the next page view shows the new numbers.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ebaydash.context import Context
from ebaydash.db import upsert
from ebaydash.db.upsert import Progress
from ebaydash.errors import ImportFailed, InvalidInput, NotAllowed
from ebaydash.formatting import plural
from ebaydash.importers import (
    FORMAT_LABELS,
    FileScan,
    NotOrder,
    ParsedFile,
    Rejected,
    RowError,
    checks,
    locales,
    rejects,
    scan_file,
    seller_hub,
)
from ebaydash.models import Account, OrderRecord
from ebaydash.services import access, namespaces, sellers
from ebaydash.services._access import scoped
from ebaydash.services._measure import measured
from ebaydash.viewer import NOT_YOUR_ACCOUNT, Viewer

MAX_ACCOUNT_NAME = 100
BATCH_ORDERS = 5_000  # orders per upsert within the one transaction: bounds the memory of a write
MAX_PROBLEMS_KEPT = 10_000  # problems listed (all are counted); a broken 50 MB file has 100,000s
MAX_NOT_ORDERS_KEPT = 1_000
PEEK_ITEMS = 100  # items of each file read to guess a new account's site before the check


@dataclass(frozen=True)
class ImportFile:
    """One file to import: its name (for messages) and its bytes, or the path to read them from
    (read as a stream each time, never held in memory whole: checked, then written; for a new
    account its first orders are read before, see :func:`import_orders`)."""

    name: str
    data: bytes | None = None
    path: Path | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.path is None):
            raise ValueError("an ImportFile has either data or a path")

    def open(self) -> BinaryIO:
        if self.path is not None:
            return self.path.open("rb")
        assert self.data is not None
        return io.BytesIO(self.data)

    @property
    def size(self) -> int:
        if self.path is not None:
            return self.path.stat().st_size
        assert self.data is not None
        return len(self.data)


@dataclass
class FileSummary:
    name: str
    format: str
    orders: int
    valid: int
    rejected: int
    errors: int
    not_orders: int = 0
    readable: bool = True
    encoding: str | None = None


@dataclass
class ImportReport:
    """What an import did. The counts are orders and always add up to ``orders_in``; rows that are
    not orders are listed in ``not_orders`` (the first :data:`MAX_NOT_ORDERS_KEPT`; all counted in
    ``not_orders_count``)."""

    account_name: str
    account_id: int | None = None
    account_created: bool = False
    committed: bool = False
    files: list[FileSummary] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    problems_count: int = 0  # every problem, also those past MAX_PROBLEMS_KEPT
    warnings: list[str] = field(default_factory=list)
    not_orders: list[NotOrder] = field(default_factory=list)
    not_orders_count: int = 0
    orders_in: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0  # the stored copy had changed more recently: kept
    duplicates: int = 0  # further copies of an order within this import
    rejected: int = 0  # invalid orders
    held_back: int = 0  # valid orders not written because the import was rejected
    seconds: float = 0.0
    currency: str | None = None
    marketplace: str | None = None
    # a new account's zone (the Seller Hub dates were read in it) and why it is that one
    timezone: str | None = None
    timezone_reason: str = ""
    # a new account whose files do not say their eBay site: its site and currency were assumed
    site_assumed: bool = False
    kind: str = "orders"  # what the counts count: "orders", or "money records" (services.money)

    @property
    def _read(self) -> str:
        """How many of :attr:`kind` the files held, in words ("1 order", "3 money records")."""
        return plural(self.orders_in, self.kind.removesuffix("s"))

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

    @property
    def failed(self) -> bool:
        """True when nothing was written because of problems (or nothing could be read)."""
        return not self.committed and bool(self.errors)

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
        return self.summary_text(skip_hint="choose to skip invalid orders")

    def summary_text(self, *, skip_hint: str) -> str:
        """One paragraph on the outcome; ``skip_hint`` says how to import the valid orders alone
        (the page's checkbox, the command's ``--skip-invalid``)."""
        rows = self.not_orders_count
        not_orders = (
            f" {plural(rows, 'row')} {'was not an order' if rows == 1 else 'were not orders'} (listed apart)."
            if rows
            else ""
        )
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
                head += f", {self.rejected:,} rejected (see the problems)"
            assumed = (
                f" The files do not say their eBay site and currency, so {self.marketplace or 'EBAY_US'} "
                f"and {self.currency or 'USD'} were assumed."
                if self.account_created and self.site_assumed
                else ""
            )
            zone = (
                f" Time zone of the new account: {self.timezone}, {self.timezone_reason}."
                if self.account_created and self.timezone
                else ""
            )
            return head + f" — {self._read} in {self.seconds:.1f} s." + assumed + zone + not_orders
        unreadable = [f for f in self.files if not f.readable]
        if self.errors and unreadable and self.orders_in == 0:
            if len(self.files) == 1:
                first = next(e for e in self.errors if e.file == unreadable[0].name)
                return f"Nothing was imported: {unreadable[0].name} cannot be imported — {first.reason}."
            names = ", ".join(f.name for f in unreadable)
            return f"Nothing was imported: none of the files could be read ({names}); see the problems below."
        if self.errors:
            what = []
            if unreadable:
                what.append(f"{', '.join(f.name for f in unreadable)} could not be read")
            if self.rejected:
                verb = "has" if self.rejected == 1 and self.orders_in == 1 else "have"
                what.append(f"{self.rejected:,} of {self._read} {verb} problems")
            fix = (
                f"Fix them and import again, or {skip_hint} to import the other {self.held_back:,}."
                if self.held_back
                else "Fix them and import again."
            )
            return (
                f"Nothing was imported: {' and '.join(what) or 'the files have problems'} "
                f"({self.problems_count:,} listed below). {fix}" + not_orders
            )
        if self.not_orders_count:
            return f"Nothing was imported: the files hold no {self.kind}." + not_orders
        return f"Nothing was imported: the files hold no {self.kind}."

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


class _Problems:
    """The import's problems: the first :data:`MAX_PROBLEMS_KEPT` kept, all counted."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report

    def add(self, errors: Sequence[RowError]) -> None:
        room = MAX_PROBLEMS_KEPT - len(self.report.errors)
        if room > 0:
            self.report.errors.extend(errors[:room])
        self.report.problems_count += len(errors)


@dataclass(frozen=True)
class _Reading:
    """The import's files and how every reading of them scans them; only the zone of the Seller
    Hub dates may differ between readings."""

    files: Sequence[ImportFile]
    sizes: list[int]
    default_currency: str
    max_bytes: int
    # one "now" for every reading: an order dated just after it must not pass the check and then
    # fail the write
    now: dt.datetime

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes) or 1

    def scans(self, zone: ZoneInfo) -> Iterator[tuple[int, ImportFile, int, FileScan]]:
        """(index, file, bytes of the files before it, its scan) for every file, in order."""
        done = 0
        for index, (file, size) in enumerate(zip(self.files, self.sizes, strict=True)):
            scan = scan_file(
                file.name,
                file.open,
                zone=zone,
                default_currency=self.default_currency,
                size=size,
                max_bytes=self.max_bytes,
                now=self.now,
            )
            yield index, file, done, scan
            done += size


def _check(
    reading: _Reading, zone: ZoneInfo, report: ImportReport, progress: Progress
) -> tuple[checks.OrderIndex, list[ParsedFile]]:
    """The first reading: every order of every file parsed and checked, into ``report`` (files,
    problems, warnings, rows that are not orders, counts) and the returned index."""
    index = checks.OrderIndex()
    problems = _Problems(report)
    parsed_files: list[ParsedFile] = []
    for file_index, file, done, scan in reading.scans(zone):
        index.start_file(file.name)
        not_orders = 0
        for n, item in enumerate(scan):
            if isinstance(item, OrderRecord):
                index.add(file_index, item)
            elif isinstance(item, Rejected):
                problems.add(item.errors)
            else:
                not_orders += 1
                if len(report.not_orders) < MAX_NOT_ORDERS_KEPT:
                    report.not_orders.append(item)
            if n % 2048 == 0:
                progress(0.45 * (done + scan.bytes_read) / reading.total_bytes, f"Checking {file.name}")
        parsed = scan.info
        parsed_files.append(parsed)
        report.not_orders.sort(key=lambda row: (row.file != file.name, row.line))
        problems.add(parsed.errors)
        report.warnings.extend(parsed.warnings)
        report.orders_in += parsed.orders_found
        valid = index.valid - sum(f.valid for f in report.files)
        report.rejected += parsed.orders_found - valid
        report.not_orders_count += not_orders
        problem_count = parsed.orders_found - valid
        report.files.append(
            FileSummary(
                name=file.name,
                format=FORMAT_LABELS[parsed.format],
                orders=parsed.orders_found,
                valid=valid,
                rejected=problem_count,
                errors=0,
                not_orders=not_orders,
                readable=parsed.readable,
                encoding=parsed.encoding,
            )
        )
    # problems in file order, line by line (a multi-row order is checked when its last row is read)
    file_order = {summary.name: n for n, summary in enumerate(report.files)}
    report.errors.sort(key=lambda e: (file_order.get(e.file, 0), e.line or 0))
    for summary in report.files:
        summary.errors = sum(1 for e in report.errors if e.file == summary.name)
    return index, parsed_files


def _first_orders_site(reading: _Reading, zone: ZoneInfo) -> str | None:
    """The eBay site most of the files' first orders say they come from, of the first
    :data:`PEEK_ITEMS` items (orders, refused orders, rows that are not orders) of each file;
    ``None`` when none says."""
    sites: Counter[str] = Counter()
    for _index, _file, _done, scan in reading.scans(zone):
        items = iter(scan)
        try:
            for item in itertools.islice(items, PEEK_ITEMS):
                if isinstance(item, OrderRecord) and item.marketplace:
                    sites[item.marketplace] += 1
        finally:
            items.close()  # the file, now rather than when the scan is collected
    return sites.most_common(1)[0][0] if sites else None


def _site_zone(marketplace: str | None) -> ZoneInfo | None:
    site = locales.SITES.get(marketplace) if marketplace is not None else None
    return ZoneInfo(site.zone) if site is not None else None


def _new_account_marketplace(parsed_files: Sequence[ParsedFile], index: checks.OrderIndex) -> str:
    """The site a new account gets, decided as step 2 of :func:`import_orders` decides it."""
    return checks.account_marketplace(parsed_files, checks.account_currency(parsed_files, index, None))


@measured("import_orders")
@scoped
def import_orders(
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
    now: dt.datetime | None = None,
) -> ImportReport:
    """Import ``files`` into the account called ``account_name`` (created when there is none).

    ``timezone`` is the zone of the Seller Hub dates (default: the account's). A new account is
    created in it; without it, in the zone of the eBay site the files say they come from
    (:data:`~ebaydash.importers.locales.SITES`: a report's dates are that site's local time), else
    in ``fallback_timezone`` (the page gives the browser's; ``fallback_source`` says whose it is,
    e.g. "your browser's zone", for the report), else in the setting's. Dates that
    name their zone are read in it whatever the zone. The report's
    ``timezone`` and ``timezone_reason`` say which zone a new account got, and why.
    Problems in the files do not raise: they come back in the report's ``errors`` (file, line,
    field, reason), with ``committed`` False unless ``skip_invalid``; an order dated more than a
    day after ``now`` (an aware datetime; default: the current time) or before eBay opened is one.

    Raises :class:`~ebaydash.errors.InvalidInput` for no files, an empty or too long account name
    or an unknown time zone; :class:`~ebaydash.errors.NotAllowed` when ``viewer`` has no grant on
    the account (or, not being an admin, would create one); :class:`~ebaydash.errors.ImportFailed`
    when the database refuses a row, or the files change between their check and their write;
    :class:`~ebaydash.errors.DatabaseError` when it cannot be reached or is too slow. Nothing is
    written in any of these cases.
    """
    started = time.perf_counter()
    report_progress = progress or (lambda _fraction, _step: None)
    name = _clean_name(account_name)
    if not files:
        raise InvalidInput("Choose at least one file to import.")
    existing = import_target(ctx, viewer, name)
    named = timezone or (existing.timezone if existing is not None else None)
    fallback = _zone(fallback_timezone or ctx.settings.timezone)
    zone = _zone(named) if named is not None else fallback
    reading = _Reading(
        files,
        [f.size for f in files],
        default_currency=existing.currency if existing is not None else "USD",
        max_bytes=ctx.settings.import_max_mb * 2**20,
        now=now or dt.datetime.now(dt.UTC),
    )
    if named is None:
        # A new account, no zone named: a report's dates are its site's local time, so the check
        # reads them in the zone of the site the first orders come from. A guess, settled below.
        zone = _site_zone(_first_orders_site(reading, zone)) or zone

    # 1. check every order of every file
    report = ImportReport(account_name=existing.name if existing is not None else name)
    index, parsed_files = _check(reading, zone, report, report_progress)
    why = "as chosen for this import"
    site_assumed = False
    if named is None:
        site = checks.told_site(parsed_files, _new_account_marketplace(parsed_files, index))
        settled = ZoneInfo(site.zone) if site is not None else fallback
        # without a site (the summary says it was assumed), the zone is the fallback's
        why = (
            f"from {site.domain}"
            if site is not None
            else (fallback_source or "the zone given for files that do not say their eBay site")
            if fallback_timezone
            else "from the EBAYDASH_TIMEZONE setting"
        )
        site_assumed = site is None
        if settled.key != zone.key and any(p.format == seller_hub.FORMAT for p in parsed_files):
            # all the orders tell another site than the first ones: what the check decided from
            # the reports' dates (the newest copy, times the clocks skipped) is decided again
            report = ImportReport(account_name=name)
            index, parsed_files = _check(reading, settled, report, report_progress)
        zone = settled
    if existing is None:
        report.timezone, report.timezone_reason = zone.key, why
        report.site_assumed = site_assumed

    # 2. decide: the account's currency and site, one copy per order
    report_progress(0.47, "Checking the orders together")
    report.warnings.extend(checks.completeness_warnings(parsed_files))
    currency = checks.account_currency(
        parsed_files, index, existing.currency if existing is not None else None
    )
    decision = index.decide(
        currency,
        report.account_name,
        existing=existing is not None,
        keep_errors=max(MAX_PROBLEMS_KEPT - len(report.errors), 0),
    )
    _Problems(report).add(decision.currency_errors)
    report.problems_count += decision.currency_rejected - len(decision.currency_errors)
    report.rejected += decision.currency_rejected
    for error in decision.currency_errors:
        for summary in report.files:
            if summary.name == error.file:
                summary.valid -= 1
                summary.rejected += 1
                summary.errors += 1
                break
    report.duplicates = decision.duplicates
    seller_ids = {p.seller_id for p in parsed_files if p.seller_id} | index.seller_ids
    ebay_user_id = (
        existing.ebay_user_id
        if existing is not None
        else (sorted(seller_ids)[0] if len(seller_ids) == 1 else _slug(name))
    )
    report.warnings.extend(
        checks.seller_warnings(seller_ids, existing.ebay_user_id if existing is not None else None)
    )
    report.currency = currency
    report.marketplace = (
        existing.marketplace if existing is not None else checks.account_marketplace(parsed_files, currency)
    )

    if (report.problems_count and not skip_invalid) or not decision.to_write:
        report.held_back = decision.to_write
        report.account_id = existing.id if existing is not None else None
        report.seconds = time.perf_counter() - started
        report_progress(1.0, "Stopped: nothing was imported" if report.errors else "Nothing to import")
        return report

    # 3. write the chosen copies, in batches, in one transaction
    report_progress(0.5, "Writing")

    def batches() -> Iterator[list[OrderRecord]]:
        """The chosen copies, read again from the files, :data:`BATCH_ORDERS` at a time."""
        batch: list[OrderRecord] = []
        read = 0
        for file_index, _file, _done, scan in reading.scans(zone):
            position = 0
            for item in scan:
                if not isinstance(item, OrderRecord):
                    continue
                if decision.wanted(file_index, position):
                    batch.append(item)
                    read += 1
                    if len(batch) >= BATCH_ORDERS:
                        yield batch
                        batch = []
                position += 1
        if batch:
            yield batch
        if read != decision.to_write:
            # the files changed between the two readings: raised inside the write's transaction,
            # so nothing is written rather than a part
            raise ImportFailed(
                "The import was rolled back and nothing was changed: the files changed while they "
                "were being imported. Import them again."
            )

    written = upsert.write_import(
        ctx.db,
        batches(),
        account_name=name,
        ebay_user_id=ebay_user_id,
        currency=currency or "USD",
        timezone=zone.key,
        marketplace=report.marketplace or "EBAY_US",
        total=decision.to_write,
        progress=lambda fraction, step: report_progress(0.5 + 0.48 * fraction, f"Writing: {step}"),
    )
    account_id, counts = written.account_id, written.counts
    report.account_created = written.account_created
    report.committed = True
    report.account_id = account_id
    report.imported, report.updated = counts.imported, counts.updated
    report.unchanged, report.older = counts.unchanged, counts.older
    invalidate_account(ctx, account_id)
    access.audit_import(
        ctx,
        viewer,
        account_id=account_id,
        account_name=report.account_name,
        files=[f.name for f in files],
        counts={"orders_in": report.orders_in, **report.counts(), "account_created": report.account_created},
    )
    report.seconds = time.perf_counter() - started
    report_progress(1.0, "Done")
    return report


def invalidate_account(ctx: Context, account_id: int) -> None:
    """After a committed write to account ``account_id``: its cached figures, and the accounts
    list (its newest order date), are stale. The one place an import invalidates.

    Two mechanisms, for two speeds. The write's own transaction bumped the account's data version
    in the database (:mod:`ebaydash.db.data_versions`), which is part of every cache key, so every
    process sees the new figures within EBAYDASH_L1_TTL_S whatever happens here: the invalidation
    cannot be lost with this process or with Redis. This bumps the namespaces' versions too, so
    this process (at once) and others through Redis (within half the L1 TTL) see them sooner.
    """
    ctx.cache.invalidate(namespaces.account(account_id))
    ctx.cache.invalidate(namespaces.GLOBAL)
    sellers.refresh_ahead(ctx, account_id)  # the standard periods, recomputed in the background


NEW_ACCOUNT_ADMINS_ONLY = "Only an admin can create a new account. Ask one to create it and grant it to you."


def import_target(ctx: Context, viewer: Viewer, name: str) -> Account | None:
    """The account called ``name`` that ``viewer`` imports into (None: it is to be created), or
    :class:`~ebaydash.errors.NotAllowed` when they have no grant on it, or would create one
    without being an admin. Checked before any file is read."""
    check_may_import(ctx, viewer, name)
    existing = upsert.find_account(ctx.db, name)
    if existing is None:
        if not viewer.is_admin:
            raise NotAllowed(NEW_ACCOUNT_ADMINS_ONLY)
    else:
        viewer.require_account(existing.id)
    return existing


@scoped
def existing_account(ctx: Context, viewer: Viewer, name: str) -> Account | None:
    """The account an import into ``name`` would write to, matched as :func:`import_target`
    matches it (ignoring case and runs of spaces); ``None`` when the import would create it (or
    the name is empty). For the import page, which refuses a "new" account that exists."""
    cleaned = " ".join((name or "").split())
    return upsert.find_account(ctx.db, cleaned) if cleaned else None


def check_may_import(ctx: Context, viewer: Viewer, name: str) -> None:
    """Refuse, before the database is asked, an account the viewer has no grant for: a name is
    matched as the database matches it (ignoring case and runs of spaces)."""
    if viewer.every_account:
        return
    wanted = " ".join(name.split()).lower()
    mine = {" ".join(a.name.split()).lower() for a in sellers.accounts(ctx, viewer)}
    if wanted not in mine:
        raise NotAllowed(NOT_YOUR_ACCOUNT)


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
