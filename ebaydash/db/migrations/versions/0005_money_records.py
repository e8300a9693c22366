"""Money records (issue 15): eBay's transactions with their fee lines, payouts, and the seller's
cost of goods per SKU with its change log.

Transactions are unique per (account, eBay transaction id), so re-importing a file changes
nothing. A transaction keeps eBay's order id as text (not a foreign key): its order may be
imported later, and figures join ``orders`` on (account_id, ebay_order_id) when they run. The
tables are new, so no existing row changes.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)

from ebaydash.db.types import Money, UTCDateTime

revision = "0005"
down_revision: str | None = "0004"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

Id = BigInteger().with_variant(Integer(), "sqlite")
Rate = Numeric(20, 10)

metadata = MetaData(
    naming_convention={
        "pk": "%(table_name)s_pkey",
        "fk": "%(table_name)s_%(column_0_name)s_fkey",
    }
)
# the parent the new tables refer to, as 0001 made it (only its key is needed here)
Table("accounts", metadata, Column("id", Id, primary_key=True))

Table(
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

Table(
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

Table(
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

Table(
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

Table(
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

Table(
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


NEW_TABLES = ("money_transactions", "money_lines", "money_fees", "payouts", "sku_costs", "sku_cost_changes")


def upgrade() -> None:
    bind = op.get_bind()
    for name in NEW_TABLES:
        metadata.tables[name].create(bind, checkfirst=False)


def downgrade() -> None:
    bind = op.get_bind()
    for name in reversed(NEW_TABLES):
        metadata.tables[name].drop(bind, checkfirst=False)
