"""The embedded demo: seeded data for ``frontdesk demo``."""
