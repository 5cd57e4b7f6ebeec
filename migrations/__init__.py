"""Alembic migrations; the database URL comes from Settings (HERALD_DATABASE_URL)."""
