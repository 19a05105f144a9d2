"""Integrations: the catalog (sources, triggers), integration groups and location mappings.

Modules:

- ``models`` — the tables; the catalog rows are seeded by migration ``0002``.
- ``properties`` — the registry of known property keys (type, scope, secure, required).
- ``catalog`` — reading the catalog and resolving trigger references.
- ``groups`` — integration groups, their triggers and group properties.
- ``mappings`` — locations attached to a group: schedule, location properties, overrides.
- ``schedule`` — default schedule values (frequency, next run time).
- ``schemas`` / ``api`` — the HTTP surface (``/integration/...``), shapes as in the support guide.

Other features (connectors, the sync engine) call the documented functions of ``groups`` and
``mappings``: ``get_group``, ``group_properties``, ``list_mappings``, ``effective_properties``.
"""
