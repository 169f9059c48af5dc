"""Reading the node's small YAML files (``introducers.yaml``, ``servers.yaml``).

Rules: a missing file reads as empty; an unreadable one, text that is not
YAML, or a document that is not a mapping raises
:class:`~grid.errors.ConfigError` (callers add the file name).
"""

from pathlib import Path
from typing import Any

import yaml

from grid.errors import ConfigError


def read_node_file(path: Path) -> str:
    """Return a node file's text, or ``""`` if it does not exist."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read: {error}") from None


def yaml_section(text: str, key: str, what: str) -> dict[Any, Any] | None:
    """Parse YAML text and return the mapping under ``key`` (None if absent or empty)."""
    try:
        document = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as error:
        raise ConfigError(f"not valid YAML: {str(error).splitlines()[0]}") from None
    if document is None:
        return None
    if not isinstance(document, dict):
        raise ConfigError(f"must be a YAML mapping with a '{key}' key")
    section = document.get(key)
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConfigError(f"'{key}' must map {what}")
    return section
