"""AfterShip tracking webhooks (D1)."""
