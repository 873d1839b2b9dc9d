"""SMS through an HTTP gateway whose request shape is configured (D4)."""
