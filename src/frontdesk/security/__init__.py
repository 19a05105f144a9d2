"""Security primitives: secrets at rest, password hashing, API keys, log redaction."""
