"""What a front-end generator hands to the file writer: constants, tables and sizes."""

from __future__ import annotations

from dataclasses import dataclass

from tinykws.codegen.frontends.c_text import CUnit


@dataclass(frozen=True)
class FrontendLayout:
    """The generated part of one front-end's frontend.c and what the algorithm file needs.

    `algorithm` names the file under codegen/c/frontend/ appended after the tables;
    `raw_ctype` is the C type of `tkws_features_raw`'s output (float or uint16_t).
    `state_bytes` carry from frame to frame within a clip, `scratch_bytes` are per-frame
    work buffers; both are static RAM.
    """

    kind: str
    algorithm: str
    raw_ctype: str
    unit: CUnit
    output_shape: tuple[int, int]
    state_bytes: int
    scratch_bytes: int
