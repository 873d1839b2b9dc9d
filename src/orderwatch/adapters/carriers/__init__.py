"""Carrier and tracking-aggregator adapters (D1): pure parsers per source plus shared status tables."""
