"""Reading content YAML: safe, strict about repeated keys, and every error names the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ipt_course.content.errors import ContentError

# libyaml's C parser when PyYAML was built with it (it is, in the wheels): ten times faster on course content,
# which every page view loads.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UniqueKeyLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """A safe YAML loader that refuses a key given twice in one mapping (PyYAML silently keeps the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"found the key {key!r} twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_text(path: Path) -> str:
    """A content file's text; a missing, unreadable or non-UTF-8 file is a ContentError naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContentError(path, "file is missing") from None
    except UnicodeDecodeError as err:
        raise ContentError(path, f"not UTF-8 text ({err.reason} at byte {err.start}); save it as UTF-8") from None
    except OSError as err:
        raise ContentError(path, f"cannot read the file: {err.strerror or err}") from None


def yaml_problem(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    if mark is not None:
        return f"YAML syntax error at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return f"YAML syntax error: {problem}"


def read_yaml(path: Path) -> Any:
    """Parse a YAML content file."""
    text = read_text(path)
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # UniqueKeyLoader is a SafeLoader
    except yaml.YAMLError as err:
        raise ContentError(path, yaml_problem(err)) from None
