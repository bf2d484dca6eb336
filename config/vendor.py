"""The vendored front-end assets, fetched from the npm registry exactly as pinned.

    python -m config.vendor           # write static/vendor/ from the pinned packages
    python -m config.vendor --check   # exit status 1 when static/vendor/ differs from them

``config/vendor.lock.json`` pins each npm package: its version, the registry's ``integrity``
string (sha512) and which of its files go where under ``static/vendor/``. A package is fetched
with ``npm pack`` and refused unless its tarball has exactly that integrity and its
``package.json`` names that package and version.

Source maps are not shipped, so the ``sourceMappingURL`` comment of a script or stylesheet is
removed: ``collectstatic``'s manifest storage refuses a reference to a file that is not there,
and the UI needs no maps.

To move to another version, change ``version`` and set ``integrity`` to what
``npm view PACKAGE@VERSION dist.integrity`` prints, then run this module.

This module must not import Django.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

BASE_DIR = Path(__file__).resolve().parent.parent
LOCK_PATH = BASE_DIR / "config" / "vendor.lock.json"
VENDOR_DIR = BASE_DIR / "static" / "vendor"
# Written by hand, never by this module.
HAND_WRITTEN = frozenset({"README.md"})
# A line that only points at a source map: ``//# sourceMappingURL=…`` in scripts,
# ``/*# sourceMappingURL=… */`` in stylesheets (``@`` is the older spelling of ``#``).
SOURCE_MAP_LINE = re.compile(
    rb"^[ \t]*(?://[#@][ \t]*sourceMappingURL=[^\r\n]*|/\*[#@][ \t]*sourceMappingURL=[^\r\n]*?\*/)"
    rb"[ \t]*(?:\r?\n|\Z)",
    re.MULTILINE,
)
SOURCE_MAP_SUFFIXES = (".js", ".mjs", ".cjs", ".css")
NPM_TIMEOUT_SECONDS = 300


class VendorError(Exception):
    """A package is not what the lock file pins, or could not be fetched."""


def integrity_of(data: bytes) -> str:
    """The npm registry's integrity string of ``data``: ``sha512-`` and the base64 digest."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def source_map_strip(content: bytes) -> bytes:
    """``content`` without its ``sourceMappingURL`` comment lines."""
    return SOURCE_MAP_LINE.sub(b"", content)


def lock_read(path: Path = LOCK_PATH) -> dict[str, dict]:
    """The pinned packages; refuses a destination outside ``static/vendor/``."""
    lock = json.loads(path.read_text())
    for name, pin in lock.items():
        for destination in pin["files"].values():
            parts = PurePosixPath(destination).parts
            if PurePosixPath(destination).is_absolute() or ".." in parts or not parts:
                raise VendorError(f"{name}: {destination!r} is not a path inside static/vendor/")
            if destination in HAND_WRITTEN:
                raise VendorError(f"{name}: {destination} is written by hand")
    return lock


def package_files(name: str, pin: dict, tarball: bytes) -> dict[str, bytes]:
    """The files ``pin`` takes from the npm ``tarball`` of ``name``, by their vendored path."""
    found = integrity_of(tarball)
    if found != pin["integrity"]:
        raise VendorError(
            f"{name}@{pin['version']}: the tarball's integrity is {found}, "
            f"the lock file pins {pin['integrity']}"
        )
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        # npm puts a package's files under one top-level folder, usually "package/".
        members = {
            member.name.split("/", 1)[1]: member
            for member in archive.getmembers()
            if member.isfile() and "/" in member.name
        }

        def read(source: str) -> bytes:
            member = members.get(source)
            if member is None:
                raise VendorError(f"{name}@{pin['version']} has no file {source}")
            return archive.extractfile(member).read()

        manifest = json.loads(read("package.json"))
        if (manifest.get("name"), manifest.get("version")) != (name, pin["version"]):
            raise VendorError(
                f"{name}@{pin['version']}: the tarball is "
                f"{manifest.get('name')}@{manifest.get('version')}"
            )
        files = {}
        for source, destination in pin["files"].items():
            content = read(source)
            if destination.endswith(SOURCE_MAP_SUFFIXES):
                content = source_map_strip(content)
            files[destination] = content
    return files


def package_fetch(name: str, version: str) -> bytes:
    """The tarball of ``name@version`` as the npm registry serves it."""
    with tempfile.TemporaryDirectory() as directory:
        result = subprocess.run(
            [
                "npm",
                "pack",
                f"{name}@{version}",
                "--ignore-scripts",
                "--pack-destination",
                directory,
            ],
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_SECONDS,
            check=False,
        )
        tarballs = list(Path(directory).glob("*.tgz"))
        if result.returncode != 0 or len(tarballs) != 1:
            raise VendorError(f"npm pack {name}@{version} failed:\n{result.stderr}")
        return tarballs[0].read_bytes()


def vendored_files(lock: dict[str, dict]) -> dict[str, bytes]:
    """Every vendored file, by its path under ``static/vendor/``, from the pinned packages."""
    files: dict[str, bytes] = {}
    for name, pin in sorted(lock.items()):
        files.update(package_files(name, pin, package_fetch(name, pin["version"])))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m config.vendor", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit status 1 when static/vendor/ differs from the pinned packages",
    )
    arguments = parser.parse_args(argv)
    try:
        lock = lock_read()
        wanted = vendored_files(lock)
    except VendorError as error:
        print(f"vendor: {error}", file=sys.stderr)
        return 1
    present = {
        path.relative_to(VENDOR_DIR).as_posix() for path in VENDOR_DIR.rglob("*") if path.is_file()
    } - HAND_WRITTEN
    differing = sorted(
        path
        for path, content in wanted.items()
        if not (VENDOR_DIR / path).is_file() or (VENDOR_DIR / path).read_bytes() != content
    )
    extra = sorted(present - wanted.keys())
    if arguments.check:
        for path in differing:
            print(f"vendor: static/vendor/{path} is not what the pinned package gives")
        for path in extra:
            print(f"vendor: static/vendor/{path} comes from no pinned package")
        return 1 if differing or extra else 0
    for path in differing:
        (VENDOR_DIR / path).parent.mkdir(parents=True, exist_ok=True)
        (VENDOR_DIR / path).write_bytes(wanted[path])
        print(f"vendor: wrote static/vendor/{path}")
    for path in extra:
        (VENDOR_DIR / path).unlink()
        print(f"vendor: removed static/vendor/{path}")
    print(f"vendor: {len(wanted)} files from {len(lock)} pinned packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
