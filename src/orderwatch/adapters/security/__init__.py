"""Security adapters (D13): password hashing for staff logins."""
