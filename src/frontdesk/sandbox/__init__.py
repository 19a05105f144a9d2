"""Simulators of the external systems frontdesk talks to, for the demo, tests and benchmarks.

Each simulator lives in its own subpackage (``frontdesk.sandbox.unity`` for the Allscripts PM
Unity server) and is started from the command line with ``frontdesk sandbox <name>``.
"""
