"""E-mail: the SMTP sender, the customer message templates, and the local demo mailbox (D4)."""
