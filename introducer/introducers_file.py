"""Which introducers a node uses: ``private/introducers.yaml`` and ``[client] introducer.furl``.

Rules (Tahoe-LAFS 1.20): ``introducers.yaml`` is a YAML mapping whose
``introducers`` key maps petnames to ``{furl: <FURL>}``; a missing or empty
file names none. The deprecated ``[client] introducer.furl`` (if set and
not blank) adds the petname ``default``; naming ``default`` in both places
is a ConfigError, as in Tahoe. Petnames become part of a file name (the
announcement cache), so they must be non-empty and free of path separators;
FURLs must be ``pb://`` strings. Every problem raises
:class:`~grid.errors.ConfigError` naming the file.
"""

from pathlib import Path

from grid.config import NodeConfig
from grid.errors import ConfigError
from introducer.yaml_files import read_node_file, yaml_section

INTRODUCERS_FILE = Path("private") / "introducers.yaml"
DEFAULT_PETNAME = "default"
_FURL_PREFIX = "pb://"
_FORBIDDEN_IN_PETNAME = frozenset("/\\\0")


def load_introducers(node_dir: Path, config: NodeConfig) -> dict[str, str]:
    """Petname → introducer FURL, from ``introducers.yaml`` and ``tahoe.cfg``."""
    path = node_dir / INTRODUCERS_FILE
    text = read_node_file(path)
    try:
        introducers = parse_introducers(text)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
    configured = (config.get("client", "introducer.furl") or "").strip()
    if configured:
        if DEFAULT_PETNAME in introducers:
            raise ConfigError(
                f"the introducer {DEFAULT_PETNAME!r} is named both in tahoe.cfg "
                f"([client] introducer.furl) and in {path}; keep only one"
            )
        introducers[DEFAULT_PETNAME] = _checked_furl(DEFAULT_PETNAME, configured)
    return introducers


def parse_introducers(text: str) -> dict[str, str]:
    """Parse ``introducers.yaml`` text; raise ConfigError if it is not the expected shape."""
    entries = yaml_section(text, "introducers", "petnames to {furl: ...} entries")
    if entries is None:
        return {}
    introducers: dict[str, str] = {}
    for petname, entry in entries.items():
        if not isinstance(petname, str) or not petname or _FORBIDDEN_IN_PETNAME & set(petname):
            raise ConfigError(
                f"petname {repr(petname)[:40]} must be a non-empty string without / or \\"
            )
        if not isinstance(entry, dict):
            raise ConfigError(f"introducer {petname!r}: needs a 'furl' key")
        introducers[petname] = _checked_furl(petname, entry.get("furl"))
    return introducers


def _checked_furl(petname: str, furl: object) -> str:
    """The FURL if it is a ``pb://`` string; raise ConfigError otherwise."""
    if not isinstance(furl, str) or not furl.strip().startswith(_FURL_PREFIX):
        raise ConfigError(f"introducer {petname!r}: furl must be a {_FURL_PREFIX}… string")
    return furl.strip()
