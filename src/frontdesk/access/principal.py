"""The authenticated caller and what it may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PrincipalKind = Literal["api_key", "user", "system"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who acts. ``business_scope`` None means staff: every tenant is visible.

    A business-scoped principal sees its business and, when that business is an enterprise,
    the enterprise's locations; nothing else exists for it (404, never 403).
    """

    kind: PrincipalKind
    id: int | None
    name: str
    role: str
    business_scope: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.business_scope is None

    @property
    def label(self) -> str:
        """How the audit log names this actor (never a secret)."""
        return f"{self.kind}:{self.name}"

    def can_see(self, business_id: int, enterprise_id: int | None) -> bool:
        if self.business_scope is None:
            return True
        return self.business_scope in (business_id, enterprise_id)

    @classmethod
    def system(cls, name: str = "cli") -> Principal:
        return cls(kind="system", id=None, name=name, role="admin")
