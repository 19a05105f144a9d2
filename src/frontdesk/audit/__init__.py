"""The audit log: every configuration change, who made it and when; secrets redacted."""
