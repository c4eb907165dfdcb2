"""A marker for "the caller did not mention this field", distinct from None (= clear it)."""

from dataclasses import fields
from typing import Any


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()


class Changes:
    """Base of the `...Changes` dataclasses that services take: only mentioned fields change."""

    def given(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not UNSET}  # type: ignore[arg-type]
