"""EHR connectors: one contract (:mod:`frontdesk.connectors.base`), one subpackage per EHR.

The sync engine never imports an EHR subpackage: it asks the registry
(:func:`frontdesk.connectors.registry.create_connector`) for the connector of an integration
source, passing the group's decrypted properties, the settings and the process-wide
:class:`~frontdesk.connectors.limits.ConcurrencyLimits`. See ``docs/connectors.md``.
"""
