"""Delivery: the channels that carry review requests (email now; SMS and webhook later).

``channel.py`` holds the protocol, the message and result types, the errors and the registry
class; ``registry.py`` builds it from settings; ``email.py`` is the SMTP channel and
``email_format.py`` builds its MIME message; ``templates.py``/``template_service.py``/``api.py``
the per-business Jinja2 templates; ``addresses.py`` contact checks; ``capture.py`` the demo
SMTP capture (the ledger's messages are composed in ``engagement/composing.py``).
See ``docs/delivery.md``.
"""
