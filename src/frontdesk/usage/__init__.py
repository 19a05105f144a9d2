"""Usage metering: one instrumentation mechanism, two sinks.

Hot paths call the process's :class:`~frontdesk.usage.meter.Meter` (built by the composition
root, handed to the parts that count). It adds to in-memory counters per business and day —
no database write per request — which :class:`~frontdesk.usage.flush.UsageLoop` adds to the
``usage_counts`` table every ``usage.flush_s`` and on stop (the usage dashboard, the API and
``frontdesk usage`` read that table); and, when ``/metrics`` is on, it feeds the
prometheus-client instruments of :mod:`frontdesk.usage.metrics`. See docs/usage.md.
"""
