"""Staff users of the dashboard: accounts, roles, login with lockout, server-side sessions."""
