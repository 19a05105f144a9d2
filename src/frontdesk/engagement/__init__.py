"""Engagement: what happens to a check-in (rules, decision log, review requests, opt-outs)."""
