"""The Allscripts / Veradigm Unity connector (PM schedules and demographics over MagicJson).

- :mod:`.config` — group properties + app-wide settings → :class:`UnityGroupConfig`.
- :mod:`.client` — the one thin async Unity client (the only module importing httpx).
- :mod:`.wire` / :mod:`.errors` — request bodies, reply envelopes, error classification.
- :mod:`.mapping`, :mod:`.dates`, :mod:`.timezones`, :mod:`.statuses` — rows → domain values.
- :mod:`.connector` — :class:`UnityConnector` (``check``, ``discover``, ``read``).
"""
