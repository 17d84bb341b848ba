"""Notifications: a transactional outbox in PostgreSQL and the worker's sender (e-mail, SMS/WhatsApp)."""
