"""Importing large files as streams: a 200,000-order getOrders page (JSON) and a 50 MB Seller Hub
report (CSV), each imported by ``ebaydash import`` in a process of its own into a fresh database,
with that process's peak resident memory (target <= 300 MB) and its orders per second.

The files are generated here, deterministic, into a temporary folder; the imports run on Postgres
(this section's own database, reset every run) and on SQLite.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import BenchEnv, Measurement, check
from bench import _admin as admin

SECTION = "large imports"
DATABASE = "ebaydash_bench_large_imports"
TARGET_RSS_MB = 300
JSON_ORDERS = 200_000
CSV_BYTES = 50 * 2**20


def write_getorders(path: Path, n: int, *, seed: int = 12) -> int:
    """One getOrders page of ``n`` orders (compact JSON, as the API sends it); returns its size."""
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write(
            f'{{"href":"https://api.ebay.com/sell/fulfillment/v1/order","total":{n},"limit":{n},"offset":0,"orders":['
        )
        for k in range(n):
            lines = []
            total = 0
            for j in range(rnd.choice((1, 1, 1, 2, 3))):
                qty = rnd.randint(1, 3)
                cents = rnd.randint(100, 20_000)
                total += qty * cents
                sku, title, item = _product(rnd)
                lines.append(
                    {
                        "lineItemId": f"{10_000_000_001 + k * 4 + j}",
                        "legacyItemId": item,
                        "sku": sku,
                        "title": title,
                        "quantity": qty,
                        "lineItemCost": {"value": f"{qty * cents / 100:.2f}", "currency": "USD"},
                        "listingMarketplaceId": "EBAY_US",
                        "purchaseMarketplaceId": "EBAY_US",
                    }
                )
            refunded = rnd.random() < 0.05
            day = dt_text(k)
            order = {
                "orderId": f"{10 + k % 90}-{k // 100_000:05d}-{k % 100_000:05d}",
                "creationDate": day,
                "lastModifiedDate": day,
                "orderFulfillmentStatus": "FULFILLED",
                "orderPaymentStatus": "PARTIALLY_REFUNDED" if refunded else "PAID",
                "sellerId": "large_bench_seller",
                "buyer": {"username": f"buyer_{rnd.randint(0, 20_000)}"},
                "pricingSummary": {"total": {"value": f"{total / 100:.2f}", "currency": "USD"}},
                "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
                "paymentSummary": {
                    "refunds": [
                        {
                            "refundId": f"R{k}",
                            "refundStatus": "REFUNDED",
                            "amount": {"value": "1.00", "currency": "USD"},
                        }
                    ]
                    if refunded
                    else []
                },
                "lineItems": lines,
            }
            out.write(("," if k else "") + json.dumps(order, separators=(",", ":")))
        out.write("]}")
    return path.stat().st_size


def dt_text(k: int) -> str:
    day = 1 + k % 28
    month = 1 + (k // 28) % 12
    return f"2026-{month:02d}-{day:02d}T{k % 24:02d}:{k % 60:02d}:00.000Z"


def _product(rnd: random.Random) -> tuple[str, str, str]:
    """SKU, title and item number of one of 5,000 products (each SKU has one title and item)."""
    k = rnd.randint(1, 5_000)
    return f"SKU-{k:05d}", f"Item {k} of the large benchmark", f"{300_000_000_000 + k * 7_919 + 13}"


def write_seller_hub(path: Path, at_least: int, *, seed: int = 13) -> int:
    """A Seller Hub Orders report of at least ``at_least`` bytes; returns the number of orders."""
    rnd = random.Random(seed)
    header = ",".join(
        f'"{h}"'
        for h in (
            "Sales Record Number",
            "Order Number",
            "Buyer Username",
            "Buyer Name",
            "Buyer Email",
            "Buyer Address 1",
            "Buyer City",
            "Buyer Zip",
            "Item Number",
            "Item Title",
            "Custom Label",
            "Quantity",
            "Sold For",
            "Shipping And Handling",
            "Total Price",
            "Sale Date",
            "Paid On Date",
            "Shipped On Date",
            "Tracking Number",
            "Transaction ID",
        )
    )
    size, n = 0, 0
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write("\r\n" + header + "\r\n")
        while size < at_least:
            qty = rnd.randint(1, 3)
            cents = rnd.randint(100, 20_000)
            ship = rnd.randint(0, 999)
            sku, title, item = _product(rnd)
            # a year gone by: an order dated after the import runs is refused as a misread year
            when = f"{months[n % 12]}-{1 + n % 28:02d}-25 {n % 24:02d}:{n % 60:02d}:00"
            cells = (
                str(n + 1),
                f"{20 + n % 70}-{n // 100_000:05d}-{n % 100_000:05d}",
                f"buyer_{rnd.randint(0, 20_000)}",
                f"Buyer {n}",
                f"buyer{n}@example.com",
                f"{n} Main Street",
                "Springfield",
                str(10_000 + n % 89_999),
                item,
                title,
                sku,
                str(qty),
                f"${cents / 100:,.2f}",
                f"${ship / 100:,.2f}",
                f"${(qty * cents + ship) / 100:,.2f}",
                when,
                when,
                "",
                "",
                str(21_234_567_891 + n),
            )
            row = ",".join(f'"{c}"' for c in cells)
            out.write(row + "\r\n")
            size += len(row) + 2
            n += 1
        out.write(f'\r\n"{n} record(s) downloaded, from Jan-01-25 00:00:00 to Dec-31-25 23:59:59"\r\n')
        out.write('"Seller ID : large_bench_seller"\r\n')
    return n


# Linux keeps, in a process's ru_maxrss, the peak of the address space it replaced at exec: a child
# started from this process (grown large, e.g. by seeding the shared benchmark database in the same
# run) reported this process's peak (880 MB for a 200 MB import). So the import runs as the
# grandchild of a small launcher, which forks it and writes its own peak (KiB) to a file.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_pid, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _import(path: Path, database_url: str) -> tuple[float, float, int, str]:
    """(peak RSS in MB, seconds, exit code, output) of ``ebaydash import`` in a process of its own,
    its peak its own whatever this process's size (see _LAUNCHER)."""
    env = {
        **os.environ,
        "EBAYDASH_DATABASE_URL": database_url,
        "EBAYDASH_IMPORT_MAX_MB": "1000",
        "EBAYDASH_STATEMENT_TIMEOUT_MS": "600000",
    }
    env.pop("EBAYDASH_REDIS_URL", None)
    peak_file = path.with_suffix(".peak")
    started = time.perf_counter()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _LAUNCHER,
            str(peak_file),
            sys.executable,
            "-m",
            "ebaydash.cli",
            "import",
            str(path),
            "--account",
            "Large",
            "--timezone",
            "UTC",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = child.stdout.read() if child.stdout is not None else ""
    returncode = child.wait()
    seconds = time.perf_counter() - started
    peak_kib = int(peak_file.read_text()) if peak_file.exists() else 0
    return peak_kib / 1024, seconds, returncode, output


def run(env: BenchEnv) -> list[Measurement]:
    n_json = 20_000 if env.quick else JSON_ORDERS
    csv_bytes = CSV_BYTES // 10 if env.quick else CSV_BYTES
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="ebaydash-large-") as folder:
        page = Path(folder) / "getorders.json"
        report = Path(folder) / "orders-report.csv"
        json_size = write_getorders(page, n_json)
        n_csv = write_seller_hub(report, csv_bytes)
        files = (
            (page, n_json, f"getOrders page, {n_json:,} orders ({json_size / 2**20:,.0f} MB)"),
            (report, n_csv, f"Seller Hub report, {report.stat().st_size / 2**20:,.0f} MB ({n_csv:,} orders)"),
        )
        admin.create_database(env.admin_url, DATABASE, exist_ok=True)
        pg_url = admin.url_for(env.admin_url, DATABASE)
        for path, n, label in files:
            for backend in ("Postgres", "SQLite"):
                if backend == "Postgres":
                    admin.reset_schema(pg_url)
                    url = pg_url
                else:
                    url = f"sqlite:///{Path(folder) / (path.stem + '.sqlite3')}"
                rss, seconds, code, output = _import(path, url)
                if code != 0 or f"{n:,} new" not in output:
                    raise RuntimeError(f"the import of {path.name} failed ({code}): {output[-800:]}")
                results.append(
                    Measurement(
                        SECTION,
                        f"{label} into an empty {backend} database: peak RSS of the importing process",
                        rss,
                        "MB",
                        f"<= {TARGET_RSS_MB} MB",
                        check(rss, at_most=TARGET_RSS_MB),
                        "ebaydash import in its own process; ru_maxrss",
                    )
                )
                results.append(
                    Measurement(
                        SECTION,
                        f"{label} into an empty {backend} database: speed",
                        n / seconds,
                        "orders/s",
                        note=f"{seconds:.1f} s for the whole command: start-up, check, write, commit",
                    )
                )
    return results
