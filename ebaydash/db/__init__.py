"""The database layer: the one gateway (``engine``), all SQL (``queries``, ``rollups`` and
``rollup_reads``, ``bulk``, ``upsert``), the schema, and its own transactions and error
translation. Import its modules by name."""

__all__: list[str] = []
