"""I/O implementations of the service ports: database, carriers, webhooks, datasets."""
