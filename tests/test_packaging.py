"""The package list in pyproject.toml matches the package folders on disk."""
from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_installed_and_every_listed_package_exists():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping: dict[str, str] = config["package-dir"]
    listed = set(config["packages"])
    on_disk = set()
    for package, folder in mapping.items():
        root = REPO / folder
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root)
            on_disk.add(".".join([package, *rel.parts]))
    assert listed - on_disk == set(), "listed in pyproject.toml but no such folder with __init__.py"
    assert on_disk - listed == set(), "package folders missing from pyproject.toml's packages list"
