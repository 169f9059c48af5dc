"""The repair agent holds only verify caps: reduction, refusal, and the state file's guard."""

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.repair_agent.caps import parse_verify_cap, reduce_to_verify_cap
from client.repair_agent.errors import (
    NothingToCheckError,
    StateFileError,
    UnverifiableCapError,
)
from client.repair_agent.state import AgentState, FileRecord, state_from_json, state_to_json
from client.repair_agent.store import StateStore
from grid.base32 import b2a
from grid.caps import CHKVerifyCap, DirectoryCap, LiteralCap, MutableVerifyCap
from grid.cli.main import main
from tests.strategies.caps import any_caps, chk_read_caps, mutable_write_caps


@given(any_caps())
def test_every_cap_reduces_to_a_verify_cap_or_is_refused(cap: object) -> None:
    """Any cap becomes its verify cap; a literal file (no shares) is refused as such."""
    text = cap.to_string()  # type: ignore[attr-defined]
    try:
        reduced = reduce_to_verify_cap(text)
    except NothingToCheckError:
        inner = cap.file_cap if isinstance(cap, DirectoryCap) else cap
        assert isinstance(inner, LiteralCap)
        return
    inner = reduced.file_cap if isinstance(reduced, DirectoryCap) else reduced
    assert isinstance(inner, CHKVerifyCap | MutableVerifyCap)
    assert reduced == cap.verify_cap()  # type: ignore[attr-defined]
    assert parse_verify_cap(reduced.to_string()) == reduced


@given(st.one_of(chk_read_caps(), mutable_write_caps()))
def test_a_record_refuses_a_read_or_write_cap(cap: object) -> None:
    """A FileRecord cannot be built from anything stronger than a verify cap."""
    with pytest.raises(UnverifiableCapError):
        FileRecord(cap.to_string(), 0.0)  # type: ignore[attr-defined]


def test_garbage_is_not_a_cap() -> None:
    """Text that is not a cap is refused with the agent's error."""
    with pytest.raises(UnverifiableCapError):
        reduce_to_verify_cap("not a cap at all")


@given(chk_read_caps())
def test_a_state_file_holding_a_read_cap_is_refused(cap: object) -> None:
    """A state file edited to hold a read cap does not load."""
    data = {"version": 1, "files": [{"verify_cap": cap.to_string(), "added": 1.0}]}  # type: ignore[attr-defined]
    with pytest.raises(StateFileError):
        state_from_json(data)


def _agent_dir(tmp_path: Path) -> Path:
    agent = tmp_path / "agent"
    assert main(["create-repair-agent", str(agent)]) == 0
    return agent


def test_importing_a_manifest_of_read_caps_stores_only_verify_caps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``import`` of plain manifest lines (read caps and paths) never writes a read cap."""
    read_cap = "URI:CHK:" + ":".join([b2a(b"k" * 16), b2a(b"h" * 32), "3", "10", "1234"])
    write_cap = "URI:SSK:" + b2a(b"w" * 16) + ":" + b2a(b"f" * 32)
    manifest = tmp_path / "manifest"
    manifest.write_text(
        f"# a comment\n{read_cap} docs/a.txt\n\n{write_cap} notes\nURI:LIT:nfxgq tiny\n"
    )
    agent = _agent_dir(tmp_path)
    assert main(["repair-agent", "import", str(agent), str(manifest)]) == 0
    assert "added 2 files" in capsys.readouterr().out
    text = (agent / "private" / "repair-agent.json").read_text()
    for secret in (b2a(b"k" * 16), b2a(b"w" * 16)):
        assert secret not in text
    held = [entry["verify_cap"] for entry in json.loads(text)["files"]]
    assert held[0].startswith("URI:CHK-Verifier:")
    assert held[1].startswith("URI:SSK-Verifier:")
    state = StateStore(agent / "private" / "repair-agent.json").load()
    assert list(state.files) == held


def test_a_bad_line_fails_the_whole_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One line that is not a cap: exit 1, naming the line, and nothing added."""
    verify_cap = "URI:CHK-Verifier:" + ":".join([b2a(b"s" * 16), b2a(b"h" * 32), "3", "10", "1234"])
    agent = _agent_dir(tmp_path)
    source = tmp_path / "caps"
    source.write_text(f"{verify_cap}\nhello\n")
    assert main(["repair-agent", "import", str(agent), str(source)]) == 1
    assert "line 2" in capsys.readouterr().err
    assert not (agent / "private" / "repair-agent.json").exists()


def test_add_keeps_one_record_per_storage_index(tmp_path: Path) -> None:
    """A read cap and its verify cap added twice name one file, held once."""
    read_cap = "URI:CHK:" + ":".join([b2a(b"k" * 16), b2a(b"h" * 32), "3", "10", "99"])
    agent = _agent_dir(tmp_path)
    assert main(["repair-agent", "add", str(agent), read_cap]) == 0
    verify_cap = reduce_to_verify_cap(read_cap).to_string()
    assert main(["repair-agent", "add", str(agent), verify_cap, read_cap]) == 0
    state = StateStore(agent / "private" / "repair-agent.json").load()
    assert list(state.files) == [verify_cap]


@given(st.lists(st.sampled_from([1.0, 2.5, None]), min_size=1, max_size=3))
def test_state_round_trips_through_json(times: list[float | None]) -> None:
    """state_from_json(state_to_json(s)) == s, failures included."""
    state = AgentState()
    for number, when in enumerate(times):
        cap = CHKVerifyCap(bytes([number]) * 16, b"h" * 32, 3, 10, 100)
        record = FileRecord(cap.to_string(), 0.5, last_check=when, good_shares=number)
        state = state.with_record(record.with_failure(3.0, f"failure {number}"))
    assert state_from_json(json.loads(json.dumps(state_to_json(state)))) == state


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    )
)
def test_garbage_state_raises_only_state_file_error(data: object) -> None:
    """Any JSON value that is not agent state raises StateFileError, never anything else."""
    with contextlib.suppress(StateFileError):
        state_from_json(data)


@given(
    st.fixed_dictionaries(
        {
            "version": st.just(1),
            "files": st.lists(
                st.dictionaries(
                    st.sampled_from(
                        [
                            "verify_cap",
                            "added",
                            "last_check",
                            "good_shares",
                            "healthy",
                            "failures",
                            "summary",
                        ]
                    ),
                    st.none()
                    | st.booleans()
                    | st.integers()
                    | st.text()
                    | st.lists(
                        st.dictionaries(st.sampled_from(["at", "what"]), st.integers() | st.text())
                    ),
                )
            ),
        }
    )
)
def test_garbage_file_entries_raise_only_state_file_error(data: dict[str, object]) -> None:
    """Malformed file entries raise StateFileError, never anything else."""
    with contextlib.suppress(StateFileError):
        state_from_json(data)
