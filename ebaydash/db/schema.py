"""Tables and indexes (SQLAlchemy Core). The same definitions run on SQLite and Postgres.

Every index here serves a query in :mod:`ebaydash.db.queries`; the comment beside it names which.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Connection, Engine

from ebaydash.db.types import Money, UTCDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY; Postgres wants BIGINT for a million-row table.
Id = BigInteger().with_variant(Integer(), "sqlite")

# Postgres' own default names, so DDL emitted by SQLAlchemy (e.g. dropping a foreign key around a
# bulk load) matches databases created before the names were declared.
metadata = MetaData(
    naming_convention={
        "pk": "%(table_name)s_pkey",
        "fk": "%(table_name)s_%(column_0_name)s_fkey",
    }
)

ORDER_STATUSES: tuple[str, ...] = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded")
LISTING_STATUSES: tuple[str, ...] = ("active", "ended", "sold_out")

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("ebay_user_id", String(64), nullable=False, unique=True),
    Column("marketplace", String(32), nullable=False, server_default="EBAY_US"),
    Column("currency", String(3), nullable=False, server_default="USD"),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    # bumped in the transaction of every write to the account's data: part of its cache keys, so
    # an invalidation cannot be lost (revision 0002, ebaydash.db.data_versions)
    Column("data_version", BigInteger, nullable=False, server_default=text("0")),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("ebay_username", String(128), nullable=False),
    Column("email", String(255)),
    UniqueConstraint("account_id", "ebay_username", name="uq_customers_account_username"),
)

products = Table(
    "products",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("sku", String(80), nullable=False),
    Column("title", String(300), nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    UniqueConstraint("account_id", "sku", name="uq_products_account_sku"),
)

listings = Table(
    "listings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("product_id", Id, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("ebay_item_id", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("price", Money, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    UniqueConstraint("account_id", "ebay_item_id", name="uq_listings_account_item"),
    CheckConstraint("quantity >= 0", name="ck_listings_quantity"),
    # KPI: active listings per account
    Index("ix_listings_account_status", "account_id", "status"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("ebay_order_id", String(64), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id", ondelete="SET NULL")),
    Column("status", String(16), nullable=False),
    Column("total_amount", Money, nullable=False),
    Column("refunded_amount", Money, nullable=False, server_default=text("0")),
    Column("currency", String(3), nullable=False),
    Column("order_date", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", "ebay_order_id", name="uq_orders_account_ebay_order"),
    # KPIs, trends and the date-ordered orders pages: range scan per account by date (keyset on id).
    # On Postgres it also carries every column the window aggregates read, so KPIs, trend, status mix
    # and top buyers are index-only scans: the heap visits were most of the KPI time at 1M orders.
    Index(
        "ix_orders_account_date",
        "account_id",
        "order_date",
        "id",
        postgresql_include=["status", "customer_id", "total_amount", "refunded_amount"],
    ),
    # orders pages sorted by amount (keyset on id)
    Index("ix_orders_account_amount", "account_id", "total_amount", "id"),
    # status filter and status mix
    Index("ix_orders_account_status_date", "account_id", "status", "order_date"),
    # buyer filter; top buyers read their candidates' orders in a window index-only (Postgres)
    Index(
        "ix_orders_customer_date",
        "customer_id",
        "order_date",
        postgresql_include=["account_id", "status", "total_amount", "refunded_amount"],
    ),
)

order_items = Table(
    "order_items",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", Id, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("product_id", Id, ForeignKey("products.id", ondelete="SET NULL")),
    Column("line_item_id", String(64)),
    Column("sku", String(80), nullable=False),
    Column("title", String(300), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Money, nullable=False),
    CheckConstraint("quantity > 0", name="ck_order_items_quantity"),
    # drill-down and top products (join from orders in window)
    Index("ix_order_items_order", "order_id"),
    Index("ix_order_items_product", "product_id"),
)

# -- rollups (ebaydash.db.rollups) ------------------------------------------------------------------
# Per account and local day of the account's time zone, the sums the overview reads, rewritten in
# the same transaction as the orders they summarise. Whole days of a window are read from here, the
# partial days at its edges from orders. The primary keys serve the range reads (account, day).
# No foreign key to accounts (revision 0009): they are derived, written only next to their
# account's orders and checked against them (``ebaydash db check-rollups``), and the key's check
# per inserted row was over half the cost of adding 10k new customers' rows in an import.

# Orders per status and day: KPIs (but distinct customers), trend and status mix.
day_rollups = Table(
    "day_rollups",
    metadata,
    Column("account_id", Id, primary_key=True, autoincrement=False),
    Column("day", Date, primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("orders", Integer, nullable=False),
    Column("total_amount", Money, nullable=False),  # sum of order totals
    Column("refunded_amount", Money, nullable=False),  # sum of refunded amounts
    Column("refund_orders", Integer, nullable=False),  # orders with any refund
)

# Lines per SKU and day, of orders neither cancelled nor refunded: top products.
sku_day_rollups = Table(
    "sku_day_rollups",
    metadata,
    Column("account_id", Id, primary_key=True, autoincrement=False),
    Column("day", Date, primary_key=True),
    Column("sku", String(80), primary_key=True),
    Column("units", Integer, nullable=False),
    Column("revenue", Money, nullable=False),  # sum of quantity × unit price
    Column("orders", Integer, nullable=False),  # distinct orders (an order lies in one day)
    Column("line_title", String(300), nullable=False),  # the greatest line title, as max() composes
)

# The local days on which a customer bought (an order neither cancelled nor without a buyer):
# the chain of purchase days the next table is counted from.
customer_days = Table(
    "customer_days",
    metadata,
    Column("account_id", Id, primary_key=True, autoincrement=False),
    Column("customer_id", Id, primary_key=True, autoincrement=False),
    Column("day", Date, primary_key=True),
)

# Per day, how many of its customers last bought on ``previous_day`` (NEVER_BOUGHT for a first
# purchase). The distinct customers of whole days [first, last] are the rows of those days whose
# previous day lies before ``first``: each customer counts once, on their first day in the range.
customer_day_gaps = Table(
    "customer_day_gaps",
    metadata,
    Column("account_id", Id, primary_key=True, autoincrement=False),
    Column("day", Date, primary_key=True),
    Column("previous_day", Date, primary_key=True),
    Column("customers", Integer, nullable=False),
)

#: ``customer_day_gaps.previous_day`` of a customer's first purchase (before any real day)
NEVER_BOUGHT = dt.date(1, 1, 1)

# Per customer, the sum over their orders (not cancelled) of each order's net amount, negatives
# counted as 0: no window's net revenue of the customer can exceed it. Top buyers read the
# customers in its descending order and stop once no one further down can make the list.
customer_totals = Table(
    "customer_totals",
    metadata,
    Column("account_id", Id, primary_key=True, autoincrement=False),
    Column("customer_id", Id, primary_key=True, autoincrement=False),
    Column("net_ceiling", Money, nullable=False),
    # top buyers: the customers in descending order of their ceiling
    Index("ix_customer_totals_ceiling", "account_id", "net_ceiling", "customer_id"),
)

# sku_day_rollups summed per local calendar month (``month``: its first day): long windows read
# their whole months here and only the days at their ends from sku_day_rollups.
sku_month_rollups = Table(
    "sku_month_rollups",
    metadata,
    Column("account_id", Id, primary_key=True, autoincrement=False),
    Column("month", Date, primary_key=True),
    Column("sku", String(80), primary_key=True),
    Column("units", Integer, nullable=False),
    Column("revenue", Money, nullable=False),
    Column("orders", Integer, nullable=False),
    Column("line_title", String(300), nullable=False),
)

ROLLUP_TABLES = (
    day_rollups,
    sku_day_rollups,
    sku_month_rollups,
    customer_days,
    customer_day_gaps,
    customer_totals,
)

# Small key/value facts about the database itself, e.g. when the demo data was last loaded.
meta = Table(
    "ebaydash_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

# On Postgres every table above with an ``account_id`` column, and ``accounts`` by ``id``, has forced
# row-level security with one policy (revision 0006, ebaydash.db.security): a new account-scoped
# table needs it too, in its own revision (tests/test_row_security.py checks).

# In dependency order: load top to bottom, delete bottom to top.
TABLES = (accounts, customers, products, listings, orders, order_items)
TABLE_NAMES = tuple(table.name for table in TABLES)  # in dependency order, parents first


def create_all(bind: Engine | Connection) -> None:
    """Create missing tables and indexes, as versions before migrations did on start.

    The app no longer calls it: Alembic owns the schema (:mod:`ebaydash.db.migrations`). Tests use
    it to make a database "from before migrations", which the migrations must adopt: so the tables
    later revisions added (:data:`ADDED_BY_REVISIONS`) are not made here."""
    later = set(ADDED_BY_REVISIONS)
    metadata.create_all(bind, tables=[t for t in metadata.sorted_tables if t not in later], checkfirst=True)


# -- scaling state (monitor) ----------------------------------------------------------------------
# One row per scope holds the rules engine's memory shared by every replica: the last action (for
# the cooldown) and recent recommendations (for the scale-down stabilisation window). Replicas
# update it with a compare-and-set on ``version``, so only one of them acts on an episode.
# Times are epoch seconds, as the engine uses them.
scaling_state = Table(
    "scaling_state",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("last_action", String(16)),
    Column("last_action_at", Float),
    Column("last_desired", Integer),
    Column("recent", Text, nullable=False, server_default="[]"),  # JSON [[at, desired], …]
    Column("updated_at", Float, nullable=False),
    Column("updated_by", String(128), nullable=False),
)

# Every scaling action a replica claimed, newest last: the scaling page's history.
scaling_actions = Table(
    "scaling_actions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("scope", String(64), nullable=False),
    Column("at", Float, nullable=False),
    Column("action", String(16), nullable=False),
    Column("from_replicas", Integer, nullable=False),
    Column("to_replicas", Integer, nullable=False),
    Column("rule", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(128), nullable=False),
    Index("ix_scaling_actions_scope_at", "scope", "at"),
)

SCALING_TABLES = (scaling_state, scaling_actions)


# -- access (issue 13) ----------------------------------------------------------------------------
# Who may see what: people by their sign-in email, and their role per account. An admin grant on
# any account makes the person an admin of every account (README "Roles").
ROLES: tuple[str, ...] = ("seller", "manager", "admin")

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),  # lower case; RFC 5321's limit
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_sign_in_at", UTCDateTime),
)

grants = Table(
    "grants",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("granted_at", UTCDateTime, nullable=False),
    Column("granted_by", String(320), nullable=False),
    UniqueConstraint("user_id", "account_id", name="uq_grants_user_account"),
    CheckConstraint("role IN ('seller', 'manager', 'admin')", name="ck_grants_role"),
    # the access page's grants per account; the viewer's are found through the unique key
    Index("ix_grants_account", "account_id"),
)

# What happened, by whom: sign-ins, grants, revocations, imports. Account id and name are copied,
# not referenced, so the record outlives the account.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(320), nullable=False),
    Column("action", String(32), nullable=False),
    Column("account_id", Id),
    Column("account_name", String(100)),
    Column("subject", String(320)),
    Column("detail", Text, nullable=False, server_default="{}"),  # JSON object
    Index("ix_audit_log_at", "at"),
)

ACCESS_TABLES = (users, grants, audit_log)  # revision 0003

# -- money records (issue 15): eBay's transactions, payouts, and the seller's cost of goods ---------
# Shapes, sign conventions and the transaction types (MONEY_TYPES): docs/money-records.md and
# ebaydash.importers.money.records.

# NUMERIC(20,10) on both backends: a rate is a factor, never summed, so SQLite's float is harmless
# there and the value is converted in Python at write time.
Rate = Numeric(20, 10)

money_transactions = Table(
    "money_transactions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("ebay_transaction_id", String(64), nullable=False),
    Column("type", String(20), nullable=False),
    Column("booking_entry", String(6), nullable=False),
    Column("booked_on", Date, nullable=False),  # the day in the account's time zone
    Column("transaction_date", UTCDateTime, nullable=False),
    Column("time_known", Boolean, nullable=False),
    Column("currency", String(3), nullable=False),  # gross and fees
    Column("payout_currency", String(3), nullable=False),  # net: the account's currency
    Column("exchange_rate", Rate),
    Column("gross", Money, nullable=False),
    Column("fee_total", Money, nullable=False),
    Column("net", Money, nullable=False),
    # gross and fees converted into the payout currency at the transaction's rate (half-up per
    # amount) when written, so figures sum exact columns in the account's currency
    Column("gross_payout", Money, nullable=False),
    Column("fee_total_payout", Money, nullable=False),
    # the fee figures' shares of it, summed when written (the fee types' grouping is eBay's, see
    # ebaydash.importers.money.fees), so the money figures read one row per transaction and no
    # fee line: fees proper (donations left out) and Promoted Listings fees
    Column("fees_payout", Money, nullable=False),
    Column("ad_fees_payout", Money, nullable=False),
    # text, not a foreign key: the order may be imported later; figures join orders on
    # (account_id, ebay_order_id) when they run
    Column("order_id", String(64)),
    Column("payout_id", String(64)),
    Column("item_id", String(32)),
    Column("ebay_type", String(64), nullable=False, server_default=""),
    Column("status", String(32)),
    Column("buyer", String(128)),
    Column("memo", String(255)),
    Column("source_format", String(32), nullable=False),
    UniqueConstraint("account_id", "ebay_transaction_id", name="uq_money_transactions_account_ebay_id"),
    CheckConstraint("booking_entry IN ('CREDIT', 'DEBIT')", name="ck_money_transactions_booking_entry"),
    # money figures per period and, on Postgres, every column they read from the table:
    # index-only scans (after VACUUM), as the orders' date index does for the KPIs
    Index(
        "ix_money_transactions_account_booked",
        "account_id",
        "booked_on",
        postgresql_include=[
            "id",
            "type",
            "order_id",
            "net",
            "gross_payout",
            "fees_payout",
            "ad_fees_payout",
        ],
    ),
    # payouts page: a payout's transactions
    Index("ix_money_transactions_account_payout", "account_id", "payout_id"),
    # cost of goods and profit per order: the link to orders
    Index("ix_money_transactions_account_order", "account_id", "order_id"),
)

money_lines = Table(
    "money_lines",
    metadata,
    Column("transaction_id", Id, ForeignKey("money_transactions.id", ondelete="CASCADE"), primary_key=True),
    Column("line_no", SmallInteger, primary_key=True, autoincrement=False),  # from 1
    Column("line_item_id", String(64)),
    Column("item_id", String(32)),
    Column("sku", String(80)),
    Column("title", String(300)),
    Column("quantity", Integer),
)

money_fees = Table(
    "money_fees",
    metadata,
    Column("transaction_id", Id, ForeignKey("money_transactions.id", ondelete="CASCADE"), primary_key=True),
    Column("line_no", SmallInteger, primary_key=True, autoincrement=False),  # 0: on the transaction
    Column("fee_type", String(64), primary_key=True),  # eBay's FeeTypeEnum code, verbatim
    Column("amount", Money, nullable=False),  # + cost, - credit; transaction currency
    Column("amount_payout", Money, nullable=False),  # the same in the payout currency
    # the transaction's account and day, repeated (they never change apart from it: its fee rows
    # are rewritten with it), so fees by type read one index range and join nothing
    Column("account_id", Id, nullable=False),
    Column("booked_on", Date, nullable=False),
    Index(
        "ix_money_fees_account_booked",
        "account_id",
        "booked_on",
        postgresql_include=["fee_type", "amount_payout"],
    ),
)

payouts = Table(
    "payouts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("ebay_payout_id", String(64), nullable=False),
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("paid_on", Date, nullable=False),
    Column("payout_date", UTCDateTime, nullable=False),
    Column("status", String(32)),
    Column("instrument", String(200)),
    Column("transaction_count", Integer),
    Column("fee", Money),
    UniqueConstraint("account_id", "ebay_payout_id", name="uq_payouts_account_ebay_id"),
    # payouts page, newest first
    Index("ix_payouts_account_paid", "account_id", "paid_on"),
)

sku_costs = Table(
    "sku_costs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("sku", String(80), nullable=False),
    Column("unit_cost", Money, nullable=False),  # in the account's currency
    Column("valid_from", Date, nullable=False),  # in force from this day until the next row's
    # the unique key's index also serves "the row in force on a day" (cost of goods)
    UniqueConstraint("account_id", "sku", "valid_from", name="uq_sku_costs_account_sku_from"),
    CheckConstraint("unit_cost >= 0", name="ck_sku_costs_unit_cost"),
)

sku_cost_changes = Table(
    "sku_cost_changes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("sku", String(80), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("old_unit_cost", Money),  # None: the row was added
    Column("new_unit_cost", Money),  # None: the row was removed
    Column("changed_at", UTCDateTime, nullable=False),
    Column("source", String(16), nullable=False),  # csv | editor
    Column("file", String(255)),
    # the change log of one account, newest first
    Index("ix_sku_cost_changes_account_at", "account_id", "changed_at"),
)

MONEY_TABLES = (money_transactions, money_lines, money_fees, payouts, sku_costs, sku_cost_changes)

#: Tables that revisions after the baseline created (versions before migrations never made them).
ADDED_BY_REVISIONS: tuple[Table, ...] = (*ACCESS_TABLES, *ROLLUP_TABLES, *MONEY_TABLES)
