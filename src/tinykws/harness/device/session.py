"""A conversation with a device that speaks the MLPerf Tiny protocol: one command at a
time, each answered before the next is sent, every wait bounded.

    session = DeviceSession(transport)
    session.wait_ready()                   # the m-init-done / m-ready banner, or a name probe
    session.load(sample_bytes)             # db load N, then db HEX... in chunks
    reply = session.infer(1, 0)            # InferReply: timestamps, results, raw outputs
"""

from __future__ import annotations

import time

from tinykws.harness.device.protocol import (
    DeviceTimeout, InferReply, ProtocolError, Reply, ReplyReader, encode_command, parse_infer,
    parse_lap,
)
from tinykws.harness.device.transport import Transport

DEFAULT_TIMEOUT_S = 10.0
# The reference firmware's command buffer is 80 characters: "db " and 64 hex digits fit.
REFERENCE_CHUNK_BYTES = 32
TRANSCRIPT_LIMIT = 200_000  # lines kept for log.txt; the rest are counted


class DeviceSession:
    """Commands and replies over `transport`. `timeout`: seconds a command may take
    unless the call gives its own; `chunk_bytes`: sample bytes per `db` command."""

    def __init__(self, transport: Transport, *, timeout: float = DEFAULT_TIMEOUT_S,
                 chunk_bytes: int = REFERENCE_CHUNK_BYTES):
        if chunk_bytes < 1:
            raise ProtocolError(f"chunk_bytes must be positive, got {chunk_bytes}")
        self.transport = transport
        self.timeout = timeout
        self.chunk_bytes = chunk_bytes
        self.reader = ReplyReader()
        self.transcript: list[str] = []
        self.dropped = 0

    def _log(self, line: str) -> None:
        if len(self.transcript) < TRANSCRIPT_LIMIT:
            self.transcript.append(line)
        else:
            self.dropped += 1

    def _await(self, command: str, timeout: float, expect_banner: bool = False) -> Reply:
        deadline = time.monotonic() + timeout
        while True:
            reply = self.reader.next_reply(command, expect_banner=expect_banner)
            if reply is not None:
                for line in (*reply.messages, *reply.errors, *reply.other):
                    self._log(f"< {line}")
                self._log("< m-ready")
                return reply
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = self.reader.lines_so_far()[-3:]
                raise DeviceTimeout(f"{self.transport.description}: no complete reply to {command!r} within "
                                    f"{timeout:g} s (last lines {seen}, then {self.reader.pending[-80:]!r})")
            self.reader.feed(self.transport.read(min(remaining, 0.5)))

    def wait_ready(self, timeout: float | None = None, banner_timeout: float = 2.0) -> None:
        """Wait up to `banner_timeout` s for the start-up banner; a device that printed it
        before we connected is then asked its name (within `timeout`)."""
        wait = self.timeout if timeout is None else timeout
        try:
            self._await("(start-up)", min(wait, banner_timeout), expect_banner=True)
        except DeviceTimeout:
            self.command("name", timeout=wait)
            return
        # The banner may be followed by a second m-ready (qemu's reset, a reconnect).
        self.reader = ReplyReader()

    def command(self, text: str, timeout: float | None = None) -> Reply:
        """Send one command and return its reply (errors in it not yet checked)."""
        self._log(f"> {text if not text.startswith('db ') or len(text) < 40 else text[:40] + '...'}")
        self.transport.write(encode_command(text))
        return self._await(text, self.timeout if timeout is None else timeout)

    def name(self) -> str:
        """The device's name line (m-name-...)."""
        return self.command("name").checked().message("m-name-")

    def profile(self) -> dict[str, str]:
        """{"firmware": ..., "model": ...} from the profile command's m-profile-[..] and m-model-[..]."""
        reply = self.command("profile").checked()
        out = {}
        for key, prefix in (("firmware", "m-profile-["), ("model", "m-model-[")):
            line = reply.message(prefix)
            out[key] = line[len(prefix):].rstrip("]")
        return out

    def timestamp(self) -> int:
        """The device timer in microseconds."""
        reply = self.command("timestamp").checked()
        return parse_lap(reply.message("m-lap-us-"), "timestamp")

    def load(self, data: bytes) -> None:
        """Put `data` in the device's buffer: `db load N`, then `db HEX` chunks; the last
        one must be answered with m-load-done."""
        if not data:
            raise ProtocolError("nothing to load")
        reply = self.command(f"db load {len(data)}").checked()
        reply.message("m-[Expecting")
        last = None
        for start in range(0, len(data), self.chunk_bytes):
            last = self.command("db " + data[start:start + self.chunk_bytes].hex()).checked()
        if last is None or not any(m == "m-load-done" for m in last.messages):
            raise ProtocolError(f"{self.transport.description}: the device did not confirm the {len(data)} bytes "
                                "with m-load-done")

    def infer(self, count: int, warmup: int, timeout: float | None = None) -> InferReply:
        """`infer count warmup`: the checked reply with its timestamps and results."""
        text = f"infer {count} {warmup}"
        return parse_infer(self.command(text, timeout), count, warmup)

    def close(self) -> None:
        self.transport.close()


__all__ = ["DeviceSession", "REFERENCE_CHUNK_BYTES"]
