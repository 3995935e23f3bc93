"""The error raised for any malformed content file, naming the file, the item and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError


class ContentError(ValueError):
    """A content file is malformed. The message names the file, the item id and the field."""

    def __init__(self, path: Path | str, problem: str, item_id: str | None = None, field: str | None = None):
        self.path = Path(path)
        self.problem = problem
        self.item_id = item_id
        self.field = field
        where = str(self.path)
        if item_id:
            where += f", item '{item_id}'"
        if field:
            where += f", field '{field}'"
        super().__init__(f"{where}: {problem}")


class DuplicateIdError(ValueError):
    """The same id is used twice in one list; raised inside validators so the error can name the id."""

    def __init__(self, what: str, duplicate: str):
        self.what = what
        self.duplicate = duplicate
        super().__init__(f"{what} id '{duplicate}' is used more than once; give each {what} its own id")


def from_validation_error(path: Path | str, raw: Any, error: ValidationError) -> ContentError:
    """Turn pydantic's first error into a ContentError that names the item by its id, not its index."""
    first = error.errors()[0]
    loc = list(first["loc"])
    item_id: str | None = None
    node: Any = raw
    fields: list[str] = []
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            node = node[part]
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                item_id = node["id"]
                fields = []
            else:
                fields.append(f"[{part}]")
            continue
        node = node[part] if isinstance(node, dict) and part in node else None
        fields.append(str(part))
    field = ".".join(fields).replace(".[", "[") or None
    located = first.get("ctx", {}).get("error")
    if isinstance(located, DuplicateIdError) and item_id is None:
        item_id = located.duplicate
    message = first["msg"].removeprefix("Value error, ")
    return ContentError(path, message, item_id=item_id, field=field)
