"""Signed webhook delivery: one outbound event store and one pump for every kind of push."""
