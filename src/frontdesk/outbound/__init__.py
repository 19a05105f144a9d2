"""Outbound HTTP: the one stack every call leaving the process goes through.

EHR calls (the Unity client), provider calls and company webhooks all use the transport
that :func:`frontdesk.outbound.http.build_transport` builds from the settings: one TLS trust
store (``FRONTDESK_HTTP__CA_BUNDLE`` or the public roots), the standard proxy variables
(``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``) and an optional check before each new
connection (the outbound allow-list). Only this package speaks HTTP/1.1 on sockets; callers
see httpx's ``AsyncBaseTransport`` interface.
"""
