"""``python -m frontdesk.sandbox unity ...``: the sandbox commands without the main CLI."""

from frontdesk.sandbox.cli import app

app(prog_name="python -m frontdesk.sandbox")
