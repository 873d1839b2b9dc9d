"""The SQL database: tables, engine, unit of work, repositories, locking and outbox."""
