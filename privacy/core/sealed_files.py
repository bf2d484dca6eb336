"""Files at rest sealed with the field keys: AES-GCM in chunks, streamed both ways.

An uploaded file holds everyone's contact details, so it is never written to disk as it came.
``sealed_file`` turns a stream of bytes into a sealed one for ``Storage.save`` without holding
the file in memory; ``sealed_open`` gives back a seekable reader of the plaintext, so CSV
reading code does not know the difference.

Layout: ``MAGIC`` then frames of ``length (4 bytes, big-endian) | token``, each token a
``privacy.core.crypto`` ciphertext (format version, key id, nonce, ciphertext and tag) of up
to ``CHUNK_BYTES`` of the file. The associated data binds each frame to its position and says
whether it is the last, so frames cannot be reordered, dropped or cut off at the end without
the reader noticing. Old keys keep opening files after a rotation, as for fields.

A file without ``MAGIC`` (stored before sealing existed) is read as it is.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from django.core.files import File
from django.core.files.storage import Storage

from privacy.core.crypto import DecryptionError, keyring

MAGIC = b"MBSEALED1\n"
CHUNK_BYTES = 64 * 1024
_LENGTH = struct.Struct(">I")
_CONTEXT = "sealed-file"


def _context(index: int, *, is_last: bool) -> str:
    return f"{_CONTEXT}:{index}:{'last' if is_last else 'more'}"


def sealed_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The sealed form of a file given as chunks of plaintext bytes, frame by frame."""
    ring = keyring()
    yield MAGIC
    buffer = b""
    index = 0
    for chunk in chunks:
        buffer += chunk
        # Keep one full chunk back: only at the end is it known which frame is the last.
        while len(buffer) > CHUNK_BYTES:
            frame, buffer = buffer[:CHUNK_BYTES], buffer[CHUNK_BYTES:]
            token = ring.encrypt_bytes(frame, context=_context(index, is_last=False))
            yield _LENGTH.pack(len(token)) + token
            index += 1
    token = ring.encrypt_bytes(buffer, context=_context(index, is_last=True))
    yield _LENGTH.pack(len(token)) + token


class _SealedUpload(File):
    """What ``Storage.save`` writes: the sealed chunks, produced while it writes them."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__(None)
        self._sealed = sealed_chunks(chunks)

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        yield from self._sealed

    def multiple_chunks(self, chunk_size: int | None = None) -> bool:
        return True


def sealed_save(storage: Storage, name: str, chunks: Iterable[bytes]) -> str:
    """Store plaintext ``chunks`` sealed under ``name`` (or a free variant); the stored name."""
    return storage.save(name, _SealedUpload(chunks))


class _UnsealingReader(io.RawIOBase):
    """The plaintext of a sealed file, read frame by frame; seeking back re-reads from the start."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._position = 0
        self._rewind()

    def _rewind(self) -> None:
        self._handle.seek(len(MAGIC))
        self._index = 0
        self._pending = b""
        self._offset = 0  # plaintext bytes handed out before ``_pending``
        self._is_done = False

    def _next_frame(self) -> None:
        header = self._handle.read(_LENGTH.size)
        if len(header) != _LENGTH.size:
            raise DecryptionError("The sealed file ends before its last frame.")
        (length,) = _LENGTH.unpack(header)
        token = self._handle.read(length)
        if len(token) != length:
            raise DecryptionError("The sealed file ends inside a frame.")
        # A frame is the last one when nothing follows it.
        is_last = not self._handle.read(1)
        if not is_last:
            self._handle.seek(-1, io.SEEK_CUR)
        ring = keyring()
        self._offset += len(self._pending)
        self._pending = ring.decrypt_bytes(token, context=_context(self._index, is_last=is_last))
        self._index += 1
        self._is_done = is_last

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        start = self._position - self._offset
        while start >= len(self._pending):
            if self._is_done:
                return 0
            start -= len(self._pending)
            self._next_frame()
        data = self._pending[start : start + len(buffer)]
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._position
        elif whence == io.SEEK_END:
            # The plaintext's length is known once the last frame is read.
            while not self._is_done:
                self._next_frame()
            offset += self._offset + len(self._pending)
        if offset < self._offset:
            self._rewind()
        self._position = max(offset, 0)
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._handle.close()
        super().close()


def is_sealed(handle: BinaryIO) -> bool:
    """Whether the open file starts as a sealed file does (the position goes back to 0)."""
    handle.seek(0)
    start = handle.read(len(MAGIC))
    handle.seek(0)
    return start == MAGIC


def sealed_open(storage: Storage, name: str) -> BinaryIO:
    """A binary reader of the plaintext of a stored file, sealed or (from before) plain.

    Raises ``DecryptionError`` while reading when a frame does not authenticate.
    """
    return plaintext_reader(storage.open(name, "rb"))


def plaintext_reader(handle: BinaryIO) -> BinaryIO:
    """``handle`` itself when it is not sealed, else a reader of its plaintext."""
    if not is_sealed(handle):
        return handle
    return io.BufferedReader(_UnsealingReader(handle), buffer_size=CHUNK_BYTES)
