"""Small helpers that import no domain package."""
