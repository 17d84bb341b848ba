"""Database: engine, sessions, embedded PostgreSQL, migrations and the model base."""
