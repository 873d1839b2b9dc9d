"""Inbound webhook plumbing (D1): signature schemes per source, verified over the raw request bytes."""
