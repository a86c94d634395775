"""The host side of the MLPerf Tiny device protocol against malformed, partial and
interrupted replies. The device here is a socket whose other end a thread writes
scripted bytes to, as a board's firmware would; every failure must be an error naming
the command, within the timeout, never a hang."""

from __future__ import annotations

import socket
import threading

import numpy as np
import pytest

from tinykws.harness.device.protocol import (
    DeviceDisconnected, DeviceResetError, DeviceTimeout, ProtocolError, ReplyReader, encode_command, parse_infer,
)
from tinykws.harness.device.session import DeviceSession
from tinykws.harness.device.transport import SocketTransport

GOOD_INFER = (b"m-warmup-start-0\r\nm-warmup-done\r\nm-infer-start-1\r\nm-lap-us-100\r\nm-lap-us-350\r\n"
              b"m-infer-done\r\nm-results-[0.000,0.996]\r\nm-raw-[807f]\r\nm-ready\r\n")


class ScriptedDevice:
    """A socket pair: the session's end, and a thread that answers each command (text up
    to '%') with the next scripted reply (bytes, or a callable taking the socket)."""

    def __init__(self, replies):
        self.host, self.device = socket.socketpair()
        self.commands: list[str] = []
        self.replies = list(replies)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        buffer = b""
        try:
            while self.replies:
                data = self.device.recv(4096)
                if not data:
                    return
                buffer += data
                while b"%" in buffer and self.replies:
                    command, buffer = buffer.split(b"%", 1)
                    self.commands.append(command.decode())
                    reply = self.replies.pop(0)
                    if callable(reply):
                        reply(self.device)
                    else:
                        self.device.sendall(reply)
        except OSError:
            return

    def session(self, timeout: float = 2.0, chunk_bytes: int = 32) -> DeviceSession:
        return DeviceSession(SocketTransport(self.host, "scripted device"), timeout=timeout, chunk_bytes=chunk_bytes)

    def close(self) -> None:
        self.device.close()
        self.host.close()


@pytest.fixture
def device_factory():
    made = []

    def make(replies):
        d = ScriptedDevice(replies)
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


def test_commands_are_terminated_and_a_terminator_inside_is_refused():
    assert encode_command("infer 1 0") == b"infer 1 0%"
    with pytest.raises(ProtocolError, match="terminator"):
        encode_command("db 10%")


def test_reader_joins_a_reply_split_anywhere_and_sorts_its_lines():
    data = b"hello from the firmware\r\nm-name-dut-[tinykws]\r\ne-[oops]\r\nm-ready\r\n"
    for cut in range(1, len(data)):
        reader = ReplyReader()
        reader.feed(data[:cut])
        first = reader.next_reply("name")
        reader.feed(data[cut:])
        reply = first or reader.next_reply("name")
        assert reply is not None
        assert reply.messages == ("m-name-dut-[tinykws]",)
        assert reply.errors == ("e-[oops]",)
        assert reply.other == ("hello from the firmware",)


def test_good_infer_reply_is_parsed():
    reader = ReplyReader()
    reader.feed(GOOD_INFER)
    reply = parse_infer(reader.next_reply("infer 1 0"), 1, 0)
    assert (reply.start_us, reply.end_us, reply.elapsed_us) == (100, 350, 250)
    assert reply.results == (0.0, 0.996)
    assert reply.raw == bytes([0x80, 0x7F])


@pytest.mark.parametrize("broken, match", [
    (GOOD_INFER.replace(b"m-lap-us-350\r\n", b""), "1 timestamps"),
    (GOOD_INFER.replace(b"m-lap-us-350", b"m-lap-us-3x0"), "malformed timestamp"),
    (GOOD_INFER.replace(b"m-lap-us-350", b"m-lap-us-50"), "go backwards"),
    (GOOD_INFER.replace(b"[0.000,0.996]", b"[0.000,abc]"), "non-numeric results"),
    (GOOD_INFER.replace(b"m-results-[0.000,0.996]", b"m-results-0.000"), "malformed results"),
    (GOOD_INFER.replace(b"m-infer-done\r\n", b""), "m-infer-done"),
    (GOOD_INFER.replace(b"m-infer-start-1", b"m-infer-start-2"), "m-infer-start-1"),
    (GOOD_INFER.replace(b"[807f]", b"[807]"), "malformed raw"),
    (GOOD_INFER.replace(b"m-warmup-done\r\n", b"e-[Inference warmup must be >=0]\r\nm-warmup-done\r\n"),
     "answered 'infer 1 0' with e-"),
])
def test_malformed_infer_replies_name_the_command(broken, match):
    reader = ReplyReader()
    reader.feed(broken)
    with pytest.raises(ProtocolError, match=match) as info:
        parse_infer(reader.next_reply("infer 1 0"), 1, 0)
    assert "infer 1 0" in str(info.value)


def test_a_line_without_end_is_refused_not_buffered_forever():
    reader = ReplyReader()
    with pytest.raises(ProtocolError, match="without a line end"):
        for _ in range(40):
            reader.feed(b"x" * 32768)


def test_session_loads_in_chunks_and_infers(device_factory):
    data = bytes(range(70))
    chunks = [b"m-ready\r\n", b"m-ready\r\n", b"m-load-done\r\nm-ready\r\n"]
    dev = device_factory([b"m-[Expecting 70 bytes]\r\nm-ready\r\n", *chunks, GOOD_INFER])
    session = dev.session()
    session.load(data)
    reply = session.infer(1, 0)
    assert dev.commands[0] == "db load 70"
    assert b"".join(bytes.fromhex(c[3:]) for c in dev.commands[1:4]) == data
    assert dev.commands[4] == "infer 1 0"
    assert reply.raw == bytes([0x80, 0x7F])
    assert any(line.startswith("> infer 1 0") for line in session.transcript)


def test_a_partial_reply_times_out_naming_the_command(device_factory):
    dev = device_factory([GOOD_INFER[:60]])  # stops in the middle of the reply
    session = dev.session(timeout=0.5)
    with pytest.raises(DeviceTimeout, match=r"no complete reply to 'infer 1 0' within 0.5 s") as info:
        session.infer(1, 0, timeout=0.5)
    assert "m-warmup-done" in str(info.value)  # what did arrive is shown


def test_a_silent_device_times_out(device_factory):
    dev = device_factory([b""])
    with pytest.raises(DeviceTimeout, match="'name'"):
        dev.session(timeout=0.3).name()


def test_a_reset_during_a_command_is_an_error_naming_it(device_factory):
    reset = b"m-warmup-start-0\r\nm-warmup-done\r\nm-infer-start-5\r\nm-init-done\r\nm-ready\r\n"
    dev = device_factory([reset])
    with pytest.raises(DeviceResetError, match="'infer 5 0'"):
        dev.session().infer(5, 0)


def test_a_closed_connection_is_an_error_not_a_hang(device_factory):
    def hang_up(sock):
        sock.sendall(b"m-warmup-start-0\r\n")
        sock.shutdown(socket.SHUT_RDWR)

    dev = device_factory([hang_up])
    with pytest.raises(DeviceDisconnected, match="closed the connection"):
        dev.session(timeout=5).infer(1, 0)


def test_load_without_load_done_is_an_error(device_factory):
    dev = device_factory([b"m-[Expecting 4 bytes]\r\nm-ready\r\n", b"m-ready\r\n"])
    with pytest.raises(ProtocolError, match="m-load-done"):
        dev.session().load(b"\x01\x02\x03\x04")


def test_error_lines_of_a_device_are_reported(device_factory):
    dev = device_factory([b"e-[Unknown command: frobnicate]\r\nm-ready\r\n"])
    with pytest.raises(ProtocolError, match="Unknown command: frobnicate"):
        dev.session().command("frobnicate").checked()


def test_startup_banner_or_name_probe(device_factory):
    # A device that printed its banner before the host connected is asked its name.
    dev = device_factory([b"m-name-dut-[x]\r\nm-ready\r\n"])
    session = dev.session(timeout=3)
    session.wait_ready(timeout=3, banner_timeout=0.2)
    assert dev.commands == ["name"]


def test_wire_formats_round_trip_exactly():
    from tinykws.eval.runner import TensorSpec
    from tinykws.fixedpoint.primitives import quantize_real
    from tinykws.harness.device.runner import WireFormat

    q = np.arange(-128, 128, dtype=np.int8)
    assert WireFormat("int8", TensorSpec((256,), "int8", 1.0, 0)).encode(q) == q.tobytes()
    pixels = np.frombuffer(WireFormat("uint8_minus_128", TensorSpec((256,), "int8", 1 / 255, -128)).encode(q),
                           np.uint8)
    assert np.array_equal(pixels.astype(np.int16) - 128, q)
    spec = TensorSpec((256,), "int8", 0.39101523, 89)
    reals = np.frombuffer(WireFormat("float32", spec).encode(q), "<f4")
    assert np.array_equal(quantize_real(reals, spec.scale, spec.zero_point, np.int8), q)
