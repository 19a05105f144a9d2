"""frontdesk: a self-hostable integration hub for medical practices."""

__version__ = "0.1.0"
