"""Kuaidi100 (快递100) subscription push callbacks (D1)."""
