"""The bench's arithmetic and parsing: percentiles, CPU per message, /proc parsing, the frames it
builds and the latency stamp it reads back."""

from __future__ import annotations

import json

import msgspec
import pytest

from passerelle.cli.bench.envelopes import SendFrames, ack_frame, read_stamp
from passerelle.cli.bench.figures import Interval, compute, percentile
from passerelle.cli.bench.options import BenchOptions, parse_scenarios
from passerelle.cli.bench.procstat import parse_stat, parse_status
from passerelle.cli.bench.scenarios import shares
from passerelle.proto.codec import decode_client_frame
from passerelle.proto.frames import Ack, Send


def test_percentiles_are_nearest_rank() -> None:
    values = list(range(1, 101))
    assert [percentile(values, q) for q in (50, 95, 99, 100)] == [50, 95, 99, 100]
    assert percentile([7], 99) == 7
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile([1, 2, 3, 4], 51) == 3
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_figures_from_an_interval() -> None:
    ms = 1_000_000
    figures = compute(
        Interval(
            seconds=2.0,
            delivered=1000,
            latencies_ns=[ms * (i + 1) for i in reversed(range(100))],
            server_cpu_ticks=5,
            server_thread_ticks={"event_loop": 3, "other_threads": 2},
            clock_ticks_per_s=100,
            server_rss_kb=51_200,
            server_peak_rss_kb=102_400,
            client_cpu_s=0.002,
            extra={"window": 64},
        ),
        name="a",
        title="closed loop",
    )
    assert figures.ok and figures.failure is None
    assert figures.per_s == 500.0
    assert (figures.p50_ms, figures.p95_ms, figures.p99_ms) == (50.0, 95.0, 99.0)
    assert figures.samples == 100
    # 5 ticks at 100 Hz = 50 ms of CPU over 1000 messages.
    assert figures.cpu_us_per_unit == pytest.approx(50.0)
    assert figures.thread_cpu_us_per_unit == pytest.approx({"event_loop": 30.0, "other_threads": 20.0})
    assert figures.client_cpu_us_per_unit == pytest.approx(2.0)
    assert (figures.rss_mb, figures.peak_rss_mb) == (50.0, 100.0)
    out = figures.to_json()
    assert out["latency_ms"] == {"p50": 50.0, "p95": 95.0, "p99": 99.0, "samples": 100}
    assert out["ok"] is True and out["unit"] == "message" and out["units"] == 1000
    assert out["extra"] == {"window": 64}
    json.dumps(out)


def test_nothing_delivered_has_no_per_message_figures() -> None:
    figures = compute(
        Interval(
            seconds=1.0,
            delivered=0,
            latencies_ns=[],
            server_cpu_ticks=7,
            server_thread_ticks={},
            clock_ticks_per_s=100,
            server_rss_kb=1024,
            server_peak_rss_kb=1024,
            client_cpu_s=0.0,
        )
    )
    assert figures.per_s == 0.0
    assert figures.cpu_us_per_unit is None
    assert figures.p99_ms is None


def test_proc_files_are_parsed() -> None:
    # The process name may hold spaces and parentheses; utime and stime are fields 14 and 15.
    stat = "4242 (python (bench) x) S 1 4242 4242 0 -1 4194304 900 0 0 0 1234 567 0 0 20 0 3 0 99"
    assert parse_stat(stat) == 1234 + 567
    status = "Name:\tpython\nVmHWM:\t  204800 kB\nVmRSS:\t   51200 kB\nThreads:\t3\n"
    assert parse_status(status) == (51_200, 204_800)


def test_send_frames_are_protocol_frames_carrying_the_stamp() -> None:
    frames = SendFrames(
        sender_key="S" * 43,
        recipient_account="a_recipient",
        recipient_device="d_recipient",
        recipient_key="R" * 43,
        body_bytes=200,
    )
    first, second = frames.frame(0, 123_456_789), frames.frame(1, 2**60)
    send = decode_client_frame(first)
    assert isinstance(send, Send)
    assert (send.to, send.id, list(send.payloads)) == ("a_recipient", "m0", ["d_recipient"])
    envelope = bytes(send.payloads["d_recipient"])
    ciphertext = json.loads(envelope)["ciphertext"]["R" * 43]
    assert ciphertext["type"] == 1
    assert len(ciphertext["body"]) == 200
    assert read_stamp(envelope) == 123_456_789
    other = decode_client_frame(second)
    assert isinstance(other, Send)
    assert other.id == "m1"
    assert read_stamp(bytes(other.payloads["d_recipient"])) == 2**60
    assert read_stamp(b'{"algorithm":"x"}') is None
    assert decode_client_frame(ack_frame(42)) == Ack(upto=42)
    msgspec.json.decode(second)


def test_options_and_scenarios() -> None:
    assert parse_scenarios("all") == ("a", "a2", "b", "c", "d", "e", "f", "g", "h")
    assert parse_scenarios("c,a") == ("a", "c")
    assert parse_scenarios("f a2") == ("a2", "f")
    assert parse_scenarios("business-webhook,a") == ("a", "h")
    assert parse_scenarios("business") == ("g", "h")
    with pytest.raises(ValueError, match="--scenario"):
        parse_scenarios("z")
    # The default load shape is the issue's: 20 pairs, 200-byte bodies, 8 in flight refilled on receipt.
    shape = BenchOptions()
    assert (shape.pairs, shape.body_bytes, shape.window, shape.refill) == (20, 200, 8, "received")
    assert shape.group_sends >= 500
    with pytest.raises(ValueError, match="refill"):
        BenchOptions(refill="later")
    with pytest.raises(ValueError, match="pairs"):
        BenchOptions(pairs=0)
    with pytest.raises(ValueError, match="members"):
        BenchOptions(members=1024)
    assert (shape.campaign_people, shape.webhook_rate) == (10_000, 500.0)  # issue 11's shape
    with pytest.raises(ValueError, match="campaign people"):
        BenchOptions(campaign_people=0)
    assert shares(10, 3) == [4, 3, 3]
    assert sum(shares(50_000, 20)) == 50_000
