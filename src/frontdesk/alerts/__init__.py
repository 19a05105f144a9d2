"""Alerts: failed runs, parked review requests and quiet components, one support mail each.

``conditions`` says what holds now, ``service`` opens and resolves incidents from that and
lists them, ``mailing`` is the claim-then-mail step shared with the credential incidents,
``heartbeat`` is how a listener or worker says it is alive, ``loop`` runs a check periodically.
"""
