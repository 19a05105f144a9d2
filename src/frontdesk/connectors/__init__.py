"""EHR connectors: one contract (:mod:`frontdesk.connectors.base`), one subpackage per EHR.

A source plugs in with its spec and a connector factory (:mod:`frontdesk.connectors.spec`);
the composition root registers the built-in ones (``connectors/allscripts/spec.py``). The
sync engine never imports an EHR subpackage: it asks the process's
:class:`~frontdesk.plugins.Plugins` for the connector of a group's source, passing the
group's decrypted properties, the settings, the process-wide
:class:`~frontdesk.connectors.limits.ConcurrencyLimits` and the clock. See
``docs/connectors.md``.
"""
