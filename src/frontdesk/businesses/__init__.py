"""Businesses: SMBs (one location) and enterprises with many locations."""
