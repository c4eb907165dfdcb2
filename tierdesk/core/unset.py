"""A marker for "the caller did not mention this field", distinct from None (= clear it)."""

from typing import Any


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()
