"""Settings of a quantization: observer, bit widths, calibration size."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tinykws.errors import ConfigError

OBSERVERS = ("minmax", "percentile", "mse")


@dataclass(frozen=True)
class QuantConfig:
    """How to quantize a float model.

    observer: how activation ranges are chosen from calibration data ("minmax": the
        observed extremes; "percentile": the `percentile`-th percentile of the values
        at either end; "mse": the clipping range that minimises the quantization error).
    weight_bits: 2..8, stored in int8; symmetric ([-(2^(b-1)-1), 2^(b-1)-1], zero point 0,
        TFLite's scheme) or, with weight_symmetric False, asymmetric (min/max mapped onto
        [-2^(b-1), 2^(b-1)-1] with a zero point per channel: simulation only).
    act_bits: 2..8, per tensor, asymmetric (TFLite's scheme) or, with act_symmetric, with
        zero point 0 (simulation only); only 8-bit asymmetric has an exact TFLite int8 form.
    """

    observer: str = "minmax"
    weight_bits: int = 8
    act_bits: int = 8
    percentile: float = 99.99
    weight_symmetric: bool = True
    act_symmetric: bool = False

    def __post_init__(self) -> None:
        if self.observer not in OBSERVERS:
            raise ConfigError(f"observer must be one of {', '.join(OBSERVERS)}, got {self.observer!r}")
        if not isinstance(self.weight_bits, int) or not 2 <= self.weight_bits <= 8:
            raise ConfigError(f"weight_bits must be an integer from 2 to 8, got {self.weight_bits!r}")
        if not isinstance(self.act_bits, int) or not 2 <= self.act_bits <= 8:
            raise ConfigError(f"act_bits must be an integer from 2 to 8, got {self.act_bits!r}")
        if not 50.0 < float(self.percentile) <= 100.0:
            raise ConfigError(f"percentile must be in (50, 100], got {self.percentile!r}")

    @property
    def exportable(self) -> bool:
        """True when the integer network (int8 TFLite kernels) computes exactly this model:
        any symmetric weight width fits int8, but activations narrower than 8 bits would need
        clamps the int8 kernels do not apply, and TFLite's int8 weights have no zero point."""
        return self.act_bits == 8 and self.weight_symmetric and not self.act_symmetric

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "QuantConfig":
        unknown = set(data) - {"observer", "weight_bits", "act_bits", "percentile", "weight_symmetric",
                               "act_symmetric"}
        if unknown:
            raise ConfigError(f"unknown quantization settings: {', '.join(sorted(unknown))}")
        return cls(**data)
