"""Baseline: the schema ebaydash had before migrations, exactly as ``create_all`` made it.

A database made by an older version (tables present, no ``alembic_version``) is compared against
:data:`metadata` below and, when it matches, stamped with this revision without touching a row
(see :func:`ebaydash.db.migrations.runner.adopt`). These definitions are frozen: a later schema change
is a new revision, never an edit here. (The column types Money and UTCDateTime come from
:mod:`ebaydash.db.types`, whose DDL is part of this baseline: NUMERIC(12,2) / BIGINT cents, and
TIMESTAMP WITH TIME ZONE / DATETIME.)

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from ebaydash.db.types import Money, UTCDateTime

revision = "0001"
down_revision: str | None = None
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

#: Tables that versions before migrations created lazily, on first use (the scaling state): a
#: database made by such a version may lack them and is still adopted; they are created then.
CREATED_ON_DEMAND = ("scaling_state", "scaling_actions")

Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "pk": "%(table_name)s_pkey",
        "fk": "%(table_name)s_%(column_0_name)s_fkey",
    }
)

Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("ebay_user_id", String(64), nullable=False, unique=True),
    Column("marketplace", String(32), nullable=False, server_default="EBAY_US"),
    Column("currency", String(3), nullable=False, server_default="USD"),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
)

Table(
    "customers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("ebay_username", String(128), nullable=False),
    Column("email", String(255)),
    UniqueConstraint("account_id", "ebay_username", name="uq_customers_account_username"),
)

Table(
    "products",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("sku", String(80), nullable=False),
    Column("title", String(300), nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    UniqueConstraint("account_id", "sku", name="uq_products_account_sku"),
)

Table(
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
    Index("ix_listings_account_status", "account_id", "status"),
)

Table(
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
    Index(
        "ix_orders_account_date",
        "account_id",
        "order_date",
        "id",
        postgresql_include=["status", "customer_id", "total_amount", "refunded_amount"],
    ),
    Index("ix_orders_account_amount", "account_id", "total_amount", "id"),
    Index("ix_orders_account_status_date", "account_id", "status", "order_date"),
    Index("ix_orders_customer", "customer_id"),
)

Table(
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
    Index("ix_order_items_order", "order_id"),
    Index("ix_order_items_product", "product_id"),
)

Table(
    "ebaydash_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

Table(
    "scaling_state",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("last_action", String(16)),
    Column("last_action_at", Float),
    Column("last_desired", Integer),
    Column("recent", Text, nullable=False, server_default="[]"),
    Column("updated_at", Float, nullable=False),
    Column("updated_by", String(128), nullable=False),
)

Table(
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


def upgrade() -> None:
    # The baseline is the frozen metadata above, created in dependency order: the one definition
    # both for new databases and for checking a database made before migrations.
    metadata.create_all(op.get_bind(), checkfirst=False)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), checkfirst=False)
