"""``python -m config.vendor`` takes exactly the pinned files from the pinned npm packages.

Fetching needs the npm registry, so these tests give the unpacking real tarballs built here and
check the committed ``static/vendor/`` against the lock file.
"""

import io
import json
import tarfile

import pytest

from config.vendor import (
    HAND_WRITTEN,
    VENDOR_DIR,
    VendorError,
    integrity_of,
    lock_read,
    package_files,
    source_map_strip,
)

SCRIPT = b"/*! example-lib v1.2.3 */\nvar example=1;\n//# sourceMappingURL=example.min.js.map\n"
STYLESHEET = b"a{color:red}\n/*# sourceMappingURL=example.css.map */"
LICENSE = b"MIT License\n//# sourceMappingURL=is only text here\n"


def npm_tarball(version: str = "1.2.3") -> bytes:
    """A package tarball laid out as ``npm pack`` makes it."""
    files = {
        "package/package.json": json.dumps({"name": "example-lib", "version": version}).encode(),
        "package/dist/example.min.js": SCRIPT,
        "package/dist/example.css": STYLESHEET,
        "package/LICENSE": LICENSE,
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(content)
            archive.addfile(member, io.BytesIO(content))
    return buffer.getvalue()


def pin_of(tarball: bytes) -> dict:
    return {
        "version": "1.2.3",
        "integrity": integrity_of(tarball),
        "files": {
            "dist/example.min.js": "example/example.min.js",
            "dist/example.css": "example/example.css",
            "LICENSE": "example/LICENSE",
        },
    }


def test_package_files_are_the_pinned_files_without_source_map_comments():
    # Given a package tarball and a pin with its integrity
    tarball = npm_tarball()

    # When its files are taken
    files = package_files("example-lib", pin_of(tarball), tarball)

    # Then each pinned file is there under its vendored path; scripts and stylesheets lose their
    # source map comment, anything else is copied as it is
    assert files == {
        "example/example.min.js": b"/*! example-lib v1.2.3 */\nvar example=1;\n",
        "example/example.css": b"a{color:red}\n",
        "example/LICENSE": LICENSE,
    }


def test_package_files_refuse_a_tarball_without_the_pinned_integrity():
    # Given a pin made for another tarball
    pin = pin_of(npm_tarball())
    pin["integrity"] = integrity_of(b"another tarball")

    # When the package's files are taken, then nothing is
    with pytest.raises(VendorError, match=r"^example-lib@1\.2\.3: the tarball's integrity is "):
        package_files("example-lib", pin, npm_tarball())


def test_package_files_refuse_a_tarball_of_another_version():
    # Given a tarball of version 1.2.4 whose integrity is pinned for version 1.2.3
    tarball = npm_tarball(version="1.2.4")

    # When its files are taken, then nothing is
    message = r"^example-lib@1\.2\.3: the tarball is example-lib@1\.2\.4$"
    with pytest.raises(VendorError, match=message):
        package_files("example-lib", pin_of(tarball), tarball)


def test_lock_refuses_a_destination_outside_the_vendor_folder(tmp_path):
    # Given a lock file that would write next to static/vendor/
    lock = tmp_path / "vendor.lock.json"
    pin = pin_of(npm_tarball())
    pin["files"] = {"LICENSE": "../LICENSE"}
    lock.write_text(json.dumps({"example-lib": pin}))

    # When it is read, then it is refused
    with pytest.raises(VendorError, match=r"is not a path inside static/vendor/"):
        lock_read(lock)


def test_committed_vendor_folder_is_what_the_lock_file_pins():
    # Given the committed lock file and vendored files
    lock = lock_read()
    pinned = {destination for pin in lock.values() for destination in pin["files"].values()}
    present = {
        path.relative_to(VENDOR_DIR).as_posix() for path in VENDOR_DIR.rglob("*") if path.is_file()
    }

    # Then every vendored file is pinned, every pin has a registry integrity, and no vendored
    # file points at a source map (none are shipped)
    assert present - HAND_WRITTEN == pinned
    assert all(pin["integrity"].startswith("sha512-") for pin in lock.values())
    for path in sorted(pinned):
        content = (VENDOR_DIR / path).read_bytes()
        assert source_map_strip(content) == content, path
