"""The wire between the grader and the sandbox: framed messages of plain data, never pickle.

Both ends use this module: the worker inside the sandbox (which imports nothing of the
course, only the standard library and NumPy) and the grader outside it. What crosses is
data, so nothing the student's code sends can run code in the grader.

A frame is an 8-byte header (two big-endian uint32: the JSON length and the binary
length), a UTF-8 JSON document, then a binary tail holding the bytes of the arrays.
A value is encoded as:

=============================================  ==========================================
value                                          JSON
=============================================  ==========================================
None, bool, int, float (NaN, inf too), str     itself
list                                           an array
tuple                                          ``{"tuple": [...]}``
dict with str keys                             ``{"dict": {...}}``
complex                                        ``{"complex": [re, im]}``
NumPy array of bool, int, uint, float, complex ``{"array": [dtype, shape, offset]}``
NumPy scalar of those                          ``{"scalar": [dtype, value]}``
anything else                                  ``{"opaque": "a generator"}`` (a description)
=============================================  ==========================================

:func:`decode` is strict (the grader reads what a student's process wrote): every JSON
object must be one of the tags above, dtypes come from an allowlist, shapes and offsets
must fit the binary tail, nesting is bounded, and anything else is a :class:`WireError`.
"""

import json
import math
import os
import select
import struct
import time

import numpy as np

HEADER = struct.Struct("!II")

#: dtypes an array or scalar may have on the wire (little-endian or byte-order-free).
DTYPES = frozenset({"|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8",
                    "<f2", "<f4", "<f8", "<c8", "<c16"})
MAX_DEPTH = 64
MAX_DIMS = 32


class WireError(Exception):
    """A frame that is not a well-formed message of plain data."""


class Opaque:
    """Stands for a value that is not plain data (a function, a generator, an object of a class of
    the student's own): the grader sees its description, never the object."""

    __slots__ = ("description",)

    def __init__(self, description):
        self.description = str(description)[:200]

    def __repr__(self):
        return f"<{self.description}>"


# --------------------------------------------------------------------------
# Encoding (either side)
# --------------------------------------------------------------------------


def _little(array):
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return array if array.flags.c_contiguous else array.copy(order="C")   # (ascontiguousarray makes 0-d 1-d)


def _describe(value):
    kind = type(value)
    name = getattr(kind, "__name__", "object")
    article = "an" if name[:1].lower() in "aeiou" else "a"
    return f"{article} {name} object"


def encode(value, buffers, depth=0):
    """``value`` as JSON-ready data; array bytes are appended to ``buffers`` (a list)."""
    if depth >= MAX_DEPTH:
        return {"opaque": "a value nested too deeply"}
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if abs(value) < 10 ** 300 else {"opaque": "an integer too large"}
    if kind is float:
        return value
    if kind is complex:
        return {"complex": [value.real, value.imag]}
    if kind is list:
        return [encode(v, buffers, depth + 1) for v in value]
    if kind is tuple:
        return {"tuple": [encode(v, buffers, depth + 1) for v in value]}
    if kind is dict:
        if all(type(k) is str for k in value):
            return {"dict": {k: encode(v, buffers, depth + 1) for k, v in value.items()}}
        return {"opaque": "a dict whose keys are not all strings"}
    if isinstance(value, np.ndarray):
        array = np.asarray(value)
        if array.dtype.kind == "O":
            try:
                array = array.astype(np.float64)
            except (TypeError, ValueError):
                return {"opaque": "an array of Python objects"}
        array = _little(array)
        if array.dtype.str not in DTYPES:
            return {"opaque": f"an array of dtype {array.dtype}"}
        offset = sum(len(b) for b in buffers)
        buffers.append(array.tobytes())
        return {"array": [array.dtype.str, list(array.shape), offset]}
    if isinstance(value, np.generic):
        array = _little(np.asarray(value))
        if array.dtype.str not in DTYPES:
            return {"opaque": f"a NumPy {array.dtype} scalar"}
        item = value.item()
        if isinstance(item, complex):
            item = [item.real, item.imag]
        return {"scalar": [array.dtype.str, item]}
    if isinstance(value, (bool, int, float, complex, str)):  # subclasses: their plain value
        return encode(kind.__mro__[-2](value), buffers, depth)
    if isinstance(value, (list, tuple)):
        return encode(list(value) if isinstance(value, list) else tuple(value), buffers, depth)
    if hasattr(value, "__array__") and not isinstance(value, type):
        try:
            return encode(np.asarray(value), buffers, depth)
        except Exception:  # noqa: BLE001 (a student's object may raise anything here)
            pass
    return {"opaque": _describe(value)}


def dumps(value):
    """One frame holding ``value``."""
    buffers = []
    document = json.dumps(encode(value, buffers), separators=(",", ":")).encode("utf-8")
    blob = b"".join(buffers)
    return HEADER.pack(len(document), len(blob)) + document + blob


# --------------------------------------------------------------------------
# Decoding (strict)
# --------------------------------------------------------------------------


def _float(value):
    if type(value) in (int, float):
        return float(value)
    raise WireError(f"expected a number, got {type(value).__name__}")


def _dtype(name):
    if type(name) is not str or name not in DTYPES:
        raise WireError(f"dtype {name!r} is not allowed")
    return np.dtype(name)


def decode(document, blob, depth=0):
    """The value a JSON ``document`` (already parsed) and binary ``blob`` describe."""
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    kind = type(document)
    if document is None or kind in (bool, int, float, str):
        return document
    if kind is list:
        return [decode(v, blob, depth + 1) for v in document]
    if kind is not dict or len(document) != 1:
        raise WireError("a JSON object must be exactly one tag")
    (tag, body), = document.items()
    if tag == "tuple" and type(body) is list:
        return tuple(decode(v, blob, depth + 1) for v in body)
    if tag == "dict" and type(body) is dict:
        return {k: decode(v, blob, depth + 1) for k, v in body.items()}
    if tag == "complex" and type(body) is list and len(body) == 2:
        return complex(_float(body[0]), _float(body[1]))
    if tag == "opaque" and type(body) is str:
        return Opaque(body)
    if tag == "scalar" and type(body) is list and len(body) == 2:
        dtype = _dtype(body[0])
        item = body[1]
        if dtype.kind == "c":
            if type(item) is not list or len(item) != 2:
                raise WireError("a complex scalar is [re, im]")
            item = complex(_float(item[0]), _float(item[1]))
        elif dtype.kind == "b":
            if type(item) is not bool:
                raise WireError("a bool scalar must be true or false")
        elif dtype.kind in "iu":
            if type(item) is not int:
                raise WireError("an integer scalar must be an integer")
        elif type(item) not in (int, float):
            raise WireError("a float scalar must be a number")
        try:
            return dtype.type(item)
        except (OverflowError, ValueError) as error:
            raise WireError(f"scalar out of range for {dtype}: {error}") from None
    if tag == "array" and type(body) is list and len(body) == 3:
        dtype = _dtype(body[0])
        shape, offset = body[1], body[2]
        if type(shape) is not list or len(shape) > MAX_DIMS or any(type(n) is not int or n < 0 for n in shape):
            raise WireError("an array's shape must be a list of at most 32 non-negative integers")
        if type(offset) is not int or offset < 0:
            raise WireError("an array's offset must be a non-negative integer")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if offset + nbytes > len(blob):
            raise WireError("an array's bytes run past the end of the frame")
        array = np.frombuffer(blob, dtype=dtype, count=count, offset=offset).reshape(shape)
        return array.copy()
    raise WireError(f"unknown tag {tag!r}")


def loads(document_bytes, blob):
    try:
        document = json.loads(document_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise WireError(f"not JSON: {type(error).__name__}") from None
    try:
        return decode(document, blob)
    except RecursionError:
        raise WireError("nested too deeply") from None


# --------------------------------------------------------------------------
# A channel over two file descriptors
# --------------------------------------------------------------------------


class ChannelClosed(WireError):
    """The other end closed the channel (its process ended)."""


class ChannelTimeout(WireError):
    """No complete frame before the deadline."""


class Channel:
    """Frames over a pair of pipes. With a deadline (``time.monotonic()`` value), a read or write
    that cannot finish in time raises :class:`ChannelTimeout`; frames larger than the limits are
    a :class:`WireError`."""

    def __init__(self, read_fd, write_fd, max_document=8 << 20, max_blob=256 << 20, nonblocking=False):
        self.read_fd, self.write_fd = read_fd, write_fd
        self.max_document, self.max_blob = max_document, max_blob
        if nonblocking:  # the grader's end: a peer that stops reading must not block a write
            os.set_blocking(read_fd, False)
            os.set_blocking(write_fd, False)

    def send(self, value, deadline=None):
        self._write(dumps(value), deadline)

    def receive(self, deadline=None):
        header = self._read(HEADER.size, deadline)
        size, blob_size = HEADER.unpack(header)
        if size > self.max_document or blob_size > self.max_blob:
            raise WireError(f"a frame of {size + blob_size} bytes is larger than allowed")
        document = self._read(size, deadline)
        blob = self._read(blob_size, deadline) if blob_size else b""
        return loads(document, blob)

    def _wait(self, fd, events, deadline):
        poller = select.poll()
        poller.register(fd, events)
        if deadline is None:
            poller.poll()
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not poller.poll(remaining * 1000):
            raise ChannelTimeout("deadline passed")

    def _read(self, n, deadline):
        chunks, left = [], n
        while left:
            self._wait(self.read_fd, select.POLLIN | select.POLLHUP, deadline)
            try:
                chunk = os.read(self.read_fd, min(left, 1 << 20))
            except BlockingIOError:
                continue
            if not chunk:
                raise ChannelClosed("the other end closed the channel")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _write(self, data, deadline):
        view = memoryview(data)
        while view:
            self._wait(self.write_fd, select.POLLOUT, deadline)
            try:
                written = os.write(self.write_fd, view[: 1 << 20])
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise ChannelClosed("the other end closed the channel") from None
            view = view[written:]
