"""thriftpy2 encodes, our generated code decodes and re-encodes, thriftpy2 decodes again.

Every struct of thrift/*.thrift (which must include all of shared/wire/coverage.json), once
with every field set and once with only the required ones, goes through
`doris-rs wire-peer roundtrip`.
"""

import json
import struct
import subprocess

import pytest

import interop_values as iv

ERROR = 0xFFFFFFFF
STRUCTS = sorted(iv.declared_structs())


def _record(name: str, data: bytes) -> bytes:
    n = name.encode()
    return struct.pack(">I", len(n)) + n + struct.pack(">I", len(data)) + data


def roundtrip(bin_path, records):
    """Send (name, bytes) records; per record, ("ok", bytes) or ("error", message)."""
    stdin = b"".join(_record(n, d) for n, d in records)
    proc = subprocess.run([str(bin_path), "wire-peer", "roundtrip"], input=stdin, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    out, pos, replies = proc.stdout, 0, []
    for _ in records:
        (n,) = struct.unpack_from(">I", out, pos)
        pos += 4
        if n == ERROR:
            (m,) = struct.unpack_from(">I", out, pos)
            pos += 4
            replies.append(("error", out[pos : pos + m].decode()))
            pos += m
        else:
            replies.append(("ok", out[pos : pos + n]))
            pos += n
    assert pos == len(out), "trailing output after the last reply"
    return replies


def test_coverage_structs_are_all_declared(shared_dir):
    coverage = json.loads((shared_dir / "wire" / "coverage.json").read_text())
    missing = sorted(set(coverage["structs"]) - set(STRUCTS))
    assert not missing, f"coverage.json structs not declared in thrift/: {missing}"
    assert len(STRUCTS) >= len(coverage["structs"])


@pytest.mark.parametrize("name", STRUCTS)
def test_struct_roundtrips(doris_rs_bin, name):
    cls = iv.struct_class(name)
    full = iv.full(cls)
    required = iv.required_only(cls)
    sent = [iv.encode(full), iv.encode(required)]
    replies = roundtrip(doris_rs_bin, [(name, b) for b in sent])
    for (kind, got), original, data, label in zip(replies, (full, required), sent, ("all fields", "required only")):
        assert kind == "ok", f"{name} ({label}): {got}"
        back = iv.decode(cls, got)
        assert back == iv.decode(cls, data), f"{name} ({label}) changed in the round trip"
        if label == "all fields":
            assert back == original
        # Same fields in the same order, maps and sets by ascending key: the same bytes.
        assert got == data, f"{name} ({label}): re-encoded bytes differ"


def test_full_values_really_are_full():
    # The generator must set every field; otherwise the round trip proves less than it says.
    cls = iv.struct_class("TReportRequest")
    v = iv.full(cls)
    for name in iv.field_names(cls):
        assert getattr(v, name) is not None, name
    assert len(v.tablets) == 2 and len(next(iter(v.tablets.values())).tablet_infos) == 2
    snap = iv.full(iv.struct_class("TGetSnapshotResult"))
    assert isinstance(snap.meta, bytes)
    with pytest.raises(UnicodeDecodeError):
        snap.meta.decode("utf-8")
    assert snap.status.status_code != 0


def test_required_only_leaves_optionals_and_defaults_unset():
    v = iv.required_only(iv.struct_class("TAgentResult"))
    assert v.snapshot_version is None  # declared default 1, cleared
    assert v.status is not None and v.status.error_msgs is None
    data = iv.encode(v)
    assert data == b"\x0c\x00\x01" + b"\x08\x00\x01" + data[6:10] + b"\x00\x00"


def test_errors_are_reported_and_the_stream_goes_on(doris_rs_bin):
    status = iv.struct_class("TStatus")
    good = iv.encode(iv.full(status))
    records = [
        ("TNoSuchStruct", good),
        ("TStatus", good[:-3]),  # truncated
        ("TStatus", b"\x00"),  # empty struct: the required status_code is missing
        ("TStatus", good + b"\x00"),  # trailing byte
        ("TStatus", b"\x0f\x00\x02\x0b\x7f\xff\xff\xff\x00"),  # list of 2^31-1 strings in 9 bytes
        ("TStatus", good),
    ]
    replies = roundtrip(doris_rs_bin, records)
    kinds = [k for k, _ in replies]
    assert kinds == ["error"] * 5 + ["ok"], replies
    assert "TNoSuchStruct" in replies[0][1]
    assert "status_code" in replies[2][1]
    assert replies[5][1] == good


def test_empty_input_gives_empty_output(doris_rs_bin):
    proc = subprocess.run([str(doris_rs_bin), "wire-peer", "roundtrip"], input=b"", capture_output=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == b""


def test_absent_default_requiredness_fields_come_back_as_zero(doris_rs_bin):
    # Fields declared neither required nor optional: the generated Rust code, like the C++
    # and Java code, reads an absent one as zero and then always writes it.
    cls = iv.struct_class("TReportRequest")
    v = iv.required_only(cls)
    v.num_cores = v.pipeline_executor_size = None
    [(kind, got)] = roundtrip(doris_rs_bin, [("TReportRequest", iv.encode(v))])
    assert kind == "ok", got
    back = iv.decode(cls, got)
    assert (back.num_cores, back.pipeline_executor_size) == (0, 0)
    assert back.backend == v.backend
