import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICE_PACKAGES = ("storage_server", "client", "introducer")


def imported_top_packages(path: Path) -> set[str]:
    """Return the top-level package of every import in a module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules_of(package: str) -> list[Path]:
    """Return the Python files of one of the project's packages."""
    return sorted((ROOT / package).rglob("*.py"))


def test_the_packages_exist() -> None:
    """The layering rules below have modules to check."""
    for package in ("grid", *SERVICE_PACKAGES):
        assert modules_of(package), package


@pytest.mark.parametrize("path", modules_of("grid"), ids=str)
def test_core_imports_no_service(path: Path) -> None:
    """grid/ outside grid/cli/ imports none of the service packages."""
    if (ROOT / "grid" / "cli") in path.parents:
        return
    assert imported_top_packages(path).isdisjoint(SERVICE_PACKAGES)


@pytest.mark.parametrize(
    ("package", "forbidden"), [("storage_server", "client"), ("client", "storage_server")]
)
def test_storage_server_and_client_stay_apart(package: str, forbidden: str) -> None:
    """storage_server and client never import each other."""
    offenders = [path for path in modules_of(package) if forbidden in imported_top_packages(path)]
    assert offenders == []


def test_the_checker_sees_imports(tmp_path: Path) -> None:
    """The import scanner finds both import forms, so the rules above can fail."""
    module = tmp_path / "sample.py"
    module.write_text("import client.web\nfrom storage_server.core import x\nfrom . import y\n")
    assert imported_top_packages(module) == {"client", "storage_server"}
