"""Reading a JSON response by its documented shape, so that a wrong guess fails loudly.

``Node`` wraps one value of a decoded response with the path that leads to it
(``items[3].user.login``); every read states what it expects, and a response that does not match
raises ``ShapeError`` naming the field, never a ``KeyError`` deep in an adapter or, worse, a
record with a silently empty field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


class ShapeError(Exception):
    """A response does not match the documented shape; ``path`` names the field."""

    def __init__(self, path: str, message: str):
        self.path = path or "(the response)"
        super().__init__(f"{self.path}: {message}")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Node:
    """One value of a response and where it is."""

    __slots__ = ("path", "value")

    def __init__(self, value: Any, path: str = ""):
        self.value = value
        self.path = path

    def _fail(self, expected: str) -> ShapeError:
        return ShapeError(self.path, f"expected {expected}, got {_kind(self.value)}")

    def _child(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _object(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            raise self._fail("an object")
        return self.value

    def __getitem__(self, key: str) -> Node:
        """The field ``key``, which must be present (it may be null)."""
        data = self._object()
        if key not in data:
            raise ShapeError(self._child(key), "missing")
        return Node(data[key], self._child(key))

    def get(self, key: str) -> Node | None:
        """The field ``key``, or None when it is absent or null."""
        value = self._object().get(key)
        return None if value is None else Node(value, self._child(key))

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and key in self.value

    def array(self) -> list[Node]:
        if not isinstance(self.value, list):
            raise self._fail("a list")
        return [Node(item, f"{self.path}[{index}]") for index, item in enumerate(self.value)]

    def string(self) -> str:
        if not isinstance(self.value, str):
            raise self._fail("a string")
        return self.value

    def integer(self) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            if isinstance(self.value, float) and self.value.is_integer():
                return int(self.value)
            raise self._fail("an integer")
        return self.value

    def number(self) -> float:
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
            raise self._fail("a number")
        return float(self.value)

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            raise self._fail("true or false")
        return self.value

    def time(self) -> float:
        """An ISO 8601 time (``2025-01-02T03:04:05Z``, ``…05.516Z``) as epoch seconds."""
        text = self.string()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ShapeError(self.path, f"expected an ISO 8601 time, got {text[:40]!r}") from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()

    def truthy(self) -> bool:
        """Whether the value is set at all (Discourse's ``more_full_page_results`` is null or true)."""
        return bool(self.value)


def opt_str(node: Node | None) -> str | None:
    return None if node is None else node.string()


def opt_int(node: Node | None) -> int | None:
    return None if node is None else node.integer()
