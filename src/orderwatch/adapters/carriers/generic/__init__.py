"""OrderWatch's own generic tracking-event webhook format (D1, docs/webhooks.md)."""
