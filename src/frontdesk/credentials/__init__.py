"""Credential health: incidents when a connector rejects credentials, re-authorisation with
backfill, expiry warnings (PM password age, Unity service credentials), health and diagnose.

See ``docs/credentials.md``.
"""
