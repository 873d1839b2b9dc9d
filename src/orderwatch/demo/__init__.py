"""The demo shop: a synthetic order history calibrated on figures measured on Olist (issue 3, D1, D14)."""
