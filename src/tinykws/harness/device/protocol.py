"""The MLPerf Tiny device protocol, host side: commands, and the parser of replies.

A command is text ending in '%'. The device answers with lines ("\\r\\n" or "\\n"):
"m-..." messages, "e-[...]" errors, anything else is the firmware's own chatter (kept in
the transcript, otherwise ignored), and the reply ends with "m-ready". "m-init-done"
inside a reply means the device reset while the command ran.

`ReplyReader` turns a byte stream into replies; every way a reply can go wrong is a
`DeviceError` subclass whose message names the command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tinykws.errors import TinyKWSError

TERMINATOR = "%"
READY = "m-ready"
INIT_DONE = "m-init-done"
MAX_LINE_BYTES = 1 << 20  # a "line" longer than this is not the protocol (a stuck or noisy line)
_LAP = re.compile(r"^m-lap-us-(\d+)$")
_RESULTS = re.compile(r"^m-results-\[(.*)\]$")
_RAW = re.compile(r"^m-raw-\[([0-9a-fA-F]*)\]$")


class DeviceError(TinyKWSError):
    """The device did not answer a command as the protocol says."""


class DeviceTimeout(DeviceError):
    """No complete reply within the time allowed."""


class DeviceResetError(DeviceError):
    """The device reset (printed m-init-done) while a command ran."""


class DeviceDisconnected(DeviceError):
    """The connection closed."""


class ProtocolError(DeviceError):
    """A reply that breaks the protocol: an error line, or a malformed or missing message."""


def encode_command(text: str) -> bytes:
    """The bytes of a command: ASCII text and the terminator (ConfigError-free: the
    caller builds commands; a '%' inside one would end it early)."""
    if TERMINATOR in text:
        raise ProtocolError(f"command {text!r} contains the terminator {TERMINATOR!r}")
    return (text + TERMINATOR).encode("ascii")


@dataclass(frozen=True)
class Reply:
    """The lines of one reply before m-ready: `messages` (m-...), `errors` (e-...),
    `other` (anything else)."""

    command: str
    messages: tuple[str, ...]
    errors: tuple[str, ...]
    other: tuple[str, ...]

    def checked(self) -> "Reply":
        """Self, or ProtocolError when the device answered with an error line."""
        if self.errors:
            raise ProtocolError(f"the device answered {self.command!r} with {'; '.join(self.errors)}")
        return self

    def message(self, prefix: str) -> str:
        """The first message starting with `prefix` (ProtocolError when there is none)."""
        for m in self.messages:
            if m.startswith(prefix):
                return m
        raise ProtocolError(f"the reply to {self.command!r} has no {prefix!r} line "
                            f"(got {list(self.messages) or 'nothing'})")


class ReplyReader:
    """Collects bytes and cuts them into replies; `feed` as bytes arrive, `next_reply`
    when m-ready has come."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._lines: list[str] = []

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                break
            raw = bytes(self._buffer[:end]).rstrip(b"\r")
            del self._buffer[:end + 1]
            self._lines.append(raw.decode("ascii", errors="replace").strip())
        if len(self._buffer) > MAX_LINE_BYTES:
            raise ProtocolError(f"the device sent {len(self._buffer):,} bytes without a line end")

    @property
    def pending(self) -> str:
        """What arrived after the last complete line (for error messages)."""
        return bytes(self._buffer).decode("ascii", errors="replace")

    def lines_so_far(self) -> list[str]:
        return list(self._lines)

    def next_reply(self, command: str, *, expect_banner: bool = False) -> Reply | None:
        """The reply to `command` if its m-ready has arrived, else None. A banner
        (m-init-done) raises DeviceResetError, unless `expect_banner` (at start-up)."""
        for i, line in enumerate(self._lines):
            if line == INIT_DONE and not expect_banner:
                raise DeviceResetError(f"the device reset while running {command!r} (it printed {INIT_DONE}); "
                                       f"lines before: {self._lines[:i][-5:]}")
            if line == READY:
                lines, self._lines = self._lines[:i], self._lines[i + 1:]
                return Reply(command, tuple(x for x in lines if x.startswith("m-")),
                             tuple(x for x in lines if x.startswith("e-")),
                             tuple(x for x in lines if x and not x.startswith(("m-", "e-"))))
        return None


# ---- what the messages mean ---------------------------------------------------------
def parse_lap(line: str, command: str) -> int:
    """The microseconds of an m-lap-us-T line."""
    match = _LAP.match(line)
    if not match:
        raise ProtocolError(f"malformed timestamp {line!r} in the reply to {command!r}")
    return int(match.group(1))


def parse_results(line: str, command: str) -> tuple[float, ...]:
    """The values of an m-results-[v,...] line."""
    match = _RESULTS.match(line)
    if not match:
        raise ProtocolError(f"malformed results {line!r} in the reply to {command!r}")
    body = match.group(1).strip()
    try:
        return tuple(float(v) for v in body.split(",")) if body else ()
    except ValueError:
        raise ProtocolError(f"non-numeric results {line!r} in the reply to {command!r}") from None


def parse_raw(line: str, command: str) -> bytes:
    """The bytes of an m-raw-[hex] line."""
    match = _RAW.match(line)
    if not match or len(match.group(1)) % 2:
        raise ProtocolError(f"malformed raw outputs {line!r} in the reply to {command!r}")
    return bytes.fromhex(match.group(1))


@dataclass(frozen=True)
class InferReply:
    """What `infer N W` reported: the count, the two timestamps (µs of the device's
    timer), the results, and the raw int8 outputs when the firmware sends them."""

    count: int
    warmup: int
    start_us: int
    end_us: int
    results: tuple[float, ...]
    raw: bytes | None

    @property
    def elapsed_us(self) -> int:
        return self.end_us - self.start_us


def parse_infer(reply: Reply, count: int, warmup: int) -> InferReply:
    """Check the sequence of an infer reply and read its timestamps and results."""
    command = reply.command
    reply.checked()
    order = ["m-warmup-start", "m-warmup-done", f"m-infer-start-{count}", "m-infer-done", "m-results-"]
    positions = []
    for prefix in order:
        found = [i for i, m in enumerate(reply.messages) if m.startswith(prefix)]
        if not found:
            raise ProtocolError(f"the reply to {command!r} has no {prefix!r} line (got {list(reply.messages)})")
        positions.append(found[0])
    if positions != sorted(positions):
        raise ProtocolError(f"the reply to {command!r} has its messages out of order: {list(reply.messages)}")
    start, done = positions[2], positions[3]
    laps = [parse_lap(m, command) for m in reply.messages[start + 1:done] if m.startswith("m-lap-us-")]
    if len(laps) != 2:
        raise ProtocolError(f"the reply to {command!r} has {len(laps)} timestamps between m-infer-start and "
                            "m-infer-done, not 2")
    if laps[1] < laps[0]:
        raise ProtocolError(f"the timestamps of {command!r} go backwards ({laps[0]} then {laps[1]} us)")
    results = parse_results(reply.messages[positions[4]], command)
    raw_lines = [m for m in reply.messages if m.startswith("m-raw-")]
    raw = parse_raw(raw_lines[0], command) if raw_lines else None
    return InferReply(count, warmup, laps[0], laps[1], results, raw)
