"""Who is calling: API keys, principals and the authentication dependency."""
