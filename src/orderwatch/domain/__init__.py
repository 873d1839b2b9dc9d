"""The pure domain of OrderWatch: orders, shipments, tracking statuses, causes, roles.

Nothing here performs I/O or imports a framework (an import-linter contract in pyproject.toml
enforces it). Time is always passed in as an aware UTC ``datetime``.

Mission ids covered so far: D1 (one normalized status vocabulary and order/shipment status
derivation), D13 (owner roles), U1 (cause taxonomy), U11 (case records are built on these ids).
"""
