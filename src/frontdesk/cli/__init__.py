"""The ``frontdesk`` command line (Typer + Rich)."""
