"""17TRACK v2 tracking webhooks (D1)."""
