"""The wire between grader and sandbox (course_grading.sandbox.wire): plain data in, plain data out.

What the grader decodes was written by a student's process, so decoding must be strict and
total: every well-formed value comes back equal, anything else is a WireError (never a crash,
never an object that runs code), and non-plain values the worker sends become descriptions.
"""

import json
import math
import os
import struct
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_grading.sandbox.wire import (
    DTYPES, Channel, ChannelClosed, ChannelTimeout, Opaque, WireError, dumps, encode, loads,
)

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.complex_numbers(allow_nan=False, allow_infinity=False),
)
_dtypes = st.sampled_from(sorted(DTYPES)).map(np.dtype)
_arrays = hnp.arrays(_dtypes, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
_numpy_scalars = _arrays.filter(lambda a: a.ndim == 0).map(lambda a: a[()])
_plain = st.recursive(
    st.one_of(_scalars, _arrays, _numpy_scalars),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=12,
)


def _parts(number):
    return (number.real, number.imag) if isinstance(number, complex) else (number,)


def _same_real(x, y):
    """The same float: both NaN, or equal with the same sign (0.0 is not -0.0)."""
    return (math.isnan(x) and math.isnan(y)) or (x == y and math.copysign(1.0, x) == math.copysign(1.0, y))


def _same(a, b):
    """Equal in type and value (NaN equal to NaN, arrays equal in dtype, shape and bytes)."""
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, np.generic):
        if type(a) is not type(b):
            return False
        if a.dtype.kind in "fc":  # a NaN is a NaN whatever its sign bit (JSON has one NaN); -0.0 stays -0.0
            return all(_same_real(x, y) for x, y in zip(_parts(a.item()), _parts(b.item())))
        return np.asarray(a).tobytes() == np.asarray(b).tobytes()
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, complex):
        return _same(a.real, b.real) and _same(a.imag, b.imag)
    return a == b


def _round_trip(value):
    frame = dumps(value)
    size, blob_size = struct.unpack("!II", frame[:8])
    return loads(frame[8:8 + size], frame[8 + size:8 + size + blob_size])


@given(_plain)
def test_plain_data_comes_back_as_it_was(value):
    assert _same(_round_trip(value), value)


def test_decoded_arrays_are_writable_copies():
    array = _round_trip(np.arange(6.0).reshape(2, 3))
    array[0, 0] = 42.0
    assert array.flags.writeable and array.flags.owndata


def test_what_is_not_plain_data_arrives_as_a_description():
    class Sneaky:
        def __eq__(self, other):
            return True

    values = [lambda: 1, (i for i in []), Sneaky(), np.array(["a", "b"]), {1: "int key"}, object(),
              np.array([object()])]
    decoded = _round_trip(values)
    assert all(isinstance(v, Opaque) for v in decoded)
    assert [v.description for v in decoded] == [
        "a function object", "a generator object", "a Sneaky object", "an array of dtype <U1",
        "a dict whose keys are not all strings", "an object object", "an array of Python objects"]


def test_subclasses_and_array_likes_arrive_as_their_plain_values():
    class MyFloat(float):
        def __eq__(self, other):
            return True

    class Liar(np.ndarray):
        def __eq__(self, other):
            return True

    decoded = _round_trip([MyFloat(2.5), np.zeros(3).view(Liar), np.ma.masked_array([1.0, 2.0]),
                           np.array([[1, 2]]).view(np.recarray)])
    assert type(decoded[0]) is float and decoded[0] == 2.5
    assert all(type(v) is np.ndarray for v in decoded[1:])
    assert decoded[3].shape == (1, 2)


def test_big_endian_arrays_are_sent_little_endian():
    decoded = _round_trip(np.arange(3, dtype=">f8"))
    assert decoded.dtype == np.dtype("<f8") and decoded.tolist() == [0.0, 1.0, 2.0]


def test_nesting_too_deep_is_described_when_sent():
    value = []
    for _ in range(200):
        value = [value]
    decoded = _round_trip(value)
    depth = 0
    while isinstance(decoded, list):
        decoded, depth = decoded[0], depth + 1
    assert isinstance(decoded, Opaque) and depth <= 70


@pytest.mark.parametrize("document, blob", [
    ({"tuple": [1], "dict": {}}, b""),                    # two tags
    ({"set": [1]}, b""),                                  # unknown tag
    ({"array": ["|O", [1], 0]}, b"\0" * 8),               # object dtype
    ({"array": ["<U3", [1], 0]}, b"\0" * 12),             # strings
    ({"array": [">f8", [1], 0]}, b"\0" * 8),              # not on the list
    ({"array": ["<f8", [2], 0]}, b"\0" * 8),              # bytes run past the end
    ({"array": ["<f8", [1], 4]}, b"\0" * 8),              # offset past the end
    ({"array": ["<f8", [-1], 0]}, b"\0" * 8),             # negative dimension
    ({"array": ["<f8", "1", 0]}, b"\0" * 8),              # shape not a list
    ({"array": ["<f8", [1] * 40, 0]}, b"\0" * 8),         # too many dimensions
    ({"array": ["<f8", [1.5], 0]}, b"\0" * 8),            # a float dimension
    ({"scalar": ["<i8", 1.5]}, b""),                      # an int scalar that is not an int
    ({"scalar": ["|b1", 1]}, b""),                        # a bool that is not a bool
    ({"scalar": ["|u1", 300]}, b""),                      # out of range
    ({"complex": ["a", 1]}, b""),
    ({"opaque": 3}, b""),
    ({"dict": [1, 2]}, b""),
])
def test_malformed_values_are_refused(document, blob):
    with pytest.raises(WireError):
        loads(json.dumps(document).encode(), blob)


def test_nesting_too_deep_is_refused_when_received():
    document = "[" * 10_000 + "]" * 10_000
    with pytest.raises(WireError):
        loads(document.encode(), b"")
    tagged = '{"tuple":' * 100 + "[]" + "}" * 100
    with pytest.raises(WireError):
        loads(tagged.encode(), b"")


@given(st.binary(max_size=200), st.binary(max_size=64))
def test_any_bytes_decode_to_plain_data_or_a_wire_error(document, blob):
    try:
        value = loads(document, blob)
    except WireError:
        return
    encode(value, [])   # whatever came back is plain data the wire can carry again


@given(st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.sampled_from(["tuple", "dict", "array", "scalar",
                                                                             "complex", "opaque", "x"]),
                                                            inner, max_size=2)),
                    max_leaves=10), st.binary(max_size=64))
def test_any_json_decodes_to_plain_data_or_a_wire_error(document, blob):
    try:
        value = loads(json.dumps(document).encode(), blob)
    except WireError:
        return
    encode(value, [])


# --------------------------------------------------------------------------
# The channel
# --------------------------------------------------------------------------


@pytest.fixture
def pipes():
    a_read, b_write = os.pipe()
    b_read, a_write = os.pipe()
    grader = Channel(a_read, a_write, nonblocking=True, max_blob=1 << 20)
    worker = Channel(b_read, b_write)
    yield grader, worker
    for fd in (a_read, b_write, b_read, a_write):
        try:
            os.close(fd)
        except OSError:
            pass


def test_a_message_crosses_the_channel(pipes):
    grader, worker = pipes
    worker.send({"op": "returned", "value": np.arange(4.0)})
    message = grader.receive(time.monotonic() + 5)
    assert message["op"] == "returned" and message["value"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_a_silent_peer_is_a_timeout(pipes):
    grader, _ = pipes
    started = time.monotonic()
    with pytest.raises(ChannelTimeout):
        grader.receive(time.monotonic() + 0.3)
    assert time.monotonic() - started < 2


def test_a_frame_cut_short_is_a_timeout_not_a_hang(pipes):
    grader, worker = pipes
    frame = dumps({"op": "returned", "value": 1.0})
    os.write(worker.write_fd, frame[:-3])
    with pytest.raises(ChannelTimeout):
        grader.receive(time.monotonic() + 0.3)


def test_a_frame_larger_than_allowed_is_refused_before_it_is_read(pipes):
    grader, worker = pipes
    os.write(worker.write_fd, struct.pack("!II", 16, 1 << 30))
    with pytest.raises(WireError, match="larger than allowed"):
        grader.receive(time.monotonic() + 1)


def test_a_closed_peer_is_seen(pipes):
    grader, worker = pipes
    os.close(worker.write_fd)
    with pytest.raises(ChannelClosed):
        grader.receive(time.monotonic() + 1)


def test_a_peer_that_stops_reading_cannot_block_the_grader(pipes):
    grader, _ = pipes
    with pytest.raises(ChannelTimeout):
        for _ in range(100):   # more than a pipe holds; nobody reads
            grader.send({"op": "run", "source": "x" * 100_000}, time.monotonic() + 0.3)
