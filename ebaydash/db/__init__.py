"""The database layer: the one gateway (``engine``), all SQL (``queries``, ``rollups`` and
``rollup_reads``, ``bulk``, ``upsert``),
the schema, and its own transactions and error translation; the read replica's routing
(``replica``) and, on Postgres, tenant isolation by row-level security (``scope``: the accounts a
transaction may see; ``security``: the policies and checks). Import its modules by name."""

__all__: list[str] = []
