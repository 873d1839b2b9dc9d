"""Readers of outside datasets (Olist, shop CSV exports) that produce ingestion commands (D1)."""
