"""Reading sellers' own order files: Fulfillment API ``getOrders`` JSON and Seller Hub CSV.

``scan_file`` streams one file: its orders (:class:`~ebaydash.models.OrderRecord`), the orders it
cannot import (:class:`Rejected`, with a :class:`RowError` for every problem) and its rows that are
not orders (:class:`NotOrder`), with file-level facts in a :class:`ParsedFile`; ``read_file``
collects a whole small file. ``checks`` holds the rules that look across files (duplicates, one
currency per account); ``merge`` which source owns which field when two describe one order;
``rejects`` writes the error report as CSV. Nothing here touches the database.
"""

from ebaydash.importers.detect import FileScan, decode, detect, read_file, scan_file
from ebaydash.importers.records import FORMAT_LABELS, NotOrder, ParsedFile, Rejected, RowError

__all__ = [
    "FORMAT_LABELS",
    "FileScan",
    "NotOrder",
    "ParsedFile",
    "Rejected",
    "RowError",
    "decode",
    "detect",
    "read_file",
    "scan_file",
]
