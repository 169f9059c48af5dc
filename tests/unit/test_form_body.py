"""Multipart form bodies scanned from a file: parts located, fields read, garbage refused."""

import asyncio
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from client.web.form_body import (
    MAX_PART_HEADERS,
    MAX_PARTS,
    FormError,
    FormPart,
    FormPartSource,
    scan_multipart,
)

BOUNDARY = b"----grid-boundary-7f3a"


def multipart(parts: list[tuple[str, str | None, bytes]], *, preamble: bytes = b"") -> bytes:
    """A multipart/form-data body of (name, filename, content) parts."""
    out = [preamble]
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out.append(b"--" + BOUNDARY + b"\r\n")
        out.append(f"Content-Disposition: {disposition}\r\n".encode())
        if filename is not None:
            out.append(b"Content-Type: application/octet-stream\r\n")
        out.append(b"\r\n" + content + b"\r\n")
    out.append(b"--" + BOUNDARY + b"--\r\n")
    return b"".join(out)


def contents(body: bytes, parts: list[FormPart]) -> list[tuple[str, str | None, bytes]]:
    """Each located part as (name, filename, bytes)."""
    return [
        (part.name, part.filename, body[part.offset : part.offset + part.length]) for part in parts
    ]


def test_fields_and_a_file_are_located() -> None:
    """Every part comes back with its name, file name and exact bytes."""
    given_parts = [
        ("t", None, b"upload"),
        ("name", None, b"n\xc3\xa9.bin"),
        ("file", "photo.jpg", b"\x00\r\n--not-the-boundary\r\n\xff" * 100),
    ]
    body = multipart(given_parts, preamble=b"ignored preamble\r\n")
    assert contents(body, scan_multipart(io.BytesIO(body), BOUNDARY)) == given_parts


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 100, 4096])
def test_boundaries_split_across_chunks_are_found(chunk_size: int) -> None:
    """However the scan's chunks fall, the parts are the same."""
    given_parts = [("a", None, b"x" * 300), ("file", "f", b"\r\n" * 150), ("b", None, b"")]
    body = multipart(given_parts)
    found = scan_multipart(io.BytesIO(body), BOUNDARY, chunk_size=chunk_size)
    assert contents(body, found) == given_parts


def test_empty_form_has_no_parts() -> None:
    """Just the closing delimiter: no parts."""
    assert scan_multipart(io.BytesIO(multipart([])), BOUNDARY) == []


START = b"--" + BOUNDARY + b"\r\n"
END = b"\r\n--" + BOUNDARY + b"--"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "no opening boundary"),
        (b"no boundary anywhere", "no opening boundary"),
        (START + b"Content-Disposition: form-data; name=a\r\n\r\nvalue", "ends before"),
        (START + b"X: y\r\n" * (MAX_PART_HEADERS // 4), "headers"),
        (START + b"Content-Type: text/plain\r\n\r\nv" + END, "form-data"),
        (START + b"Content-Disposition: form-data\r\n\r\nv" + END, "no name"),
    ],
)
def test_malformed_bodies_are_refused_by_name(body: bytes, message: str) -> None:
    """A body that is not a complete form is a FormError saying what is wrong."""
    with pytest.raises(FormError, match=message):
        scan_multipart(io.BytesIO(body), BOUNDARY)


def test_part_source_reads_only_its_part() -> None:
    """A file part read by range gives its bytes, clipped to its end."""
    data = bytes(range(256)) * 10
    body = multipart([("x", None, b"before"), ("file", "f", data), ("y", None, b"after")])
    part = scan_multipart(io.BytesIO(body), BOUNDARY)[1]
    source = FormPartSource(io.BytesIO(body), part)
    assert source.size == len(data)
    assert asyncio.run(source.read(0, len(data))) == data
    assert asyncio.run(source.read(100, 50)) == data[100:150]
    assert asyncio.run(source.read(len(data) - 5, 100)) == data[-5:]
    assert asyncio.run(source.read(len(data) + 5, 10)) == b""


names = st.text(alphabet=st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(names, st.none() | names, st.binary(max_size=300)),
        max_size=5,
    ),
    st.integers(min_value=1, max_value=200),
)
def test_any_form_round_trips(parts: list[tuple[str, str | None, bytes]], chunk: int) -> None:
    """Random parts with binary content, scanned in random chunk sizes, come back exactly."""
    body = multipart(parts)
    assert contents(body, scan_multipart(io.BytesIO(body), BOUNDARY, chunk_size=chunk)) == parts


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_garbage_gives_parts_or_a_form_error(garbage: bytes) -> None:
    """Any bytes at all: located parts inside the body, or FormError, nothing else."""
    body = b"--" + BOUNDARY + b"\r\n" + garbage
    try:
        parts = scan_multipart(io.BytesIO(body), BOUNDARY, chunk_size=64)
    except FormError:
        return
    for part in parts:
        assert part.offset >= 0
        assert part.length >= 0
        assert part.offset + part.length <= len(body)


def test_too_many_parts_are_refused() -> None:
    """A form of more than MAX_PARTS (empty) parts is refused before it is all kept."""
    body = multipart([("f", None, b"")] * (MAX_PARTS + 1))
    with pytest.raises(FormError, match="at most"):
        scan_multipart(io.BytesIO(body), BOUNDARY)
    assert len(scan_multipart(io.BytesIO(multipart([("f", None, b"")] * MAX_PARTS)), BOUNDARY)) == (
        MAX_PARTS
    )
