"""One router module per area of the staff web app."""
