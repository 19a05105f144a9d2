"""procrastinate's tables are applied by migration 0007 but are not our models.

Schema comparisons (the migrations-match-models test, ``alembic revision --autogenerate``)
pass :func:`include_name` so they neither report nor drop them.
"""

from __future__ import annotations

from alembic.runtime.environment import NameFilterParentNames, NameFilterType

PREFIX = "procrastinate_"


def include_name(
    name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames
) -> bool:
    """Alembic ``include_name`` hook: leave procrastinate's tables out of comparisons."""
    return not (type_ == "table" and name is not None and name.startswith(PREFIX))
