"""The ticket desk: lifecycle, notes, assignment, re-filing, staff ticket API, push webhooks."""
