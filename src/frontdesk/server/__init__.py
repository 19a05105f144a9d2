"""The HTTP server: app factory, shared context, JSON errors."""
