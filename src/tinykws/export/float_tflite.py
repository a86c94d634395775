"""Float .tflite export: float32 weights (the float model as stored) or float16 weights
(TFLite's "float16 quantization": weights and biases stored as float16, each followed by a
DEQUANTIZE to float32, all arithmetic in float32), with the same contract metadata and
manifest as the int8 export.

The graph is the quantizer's lowering of the model (batch norm folded, GRUs unrolled),
so a float file and an int8 file of one model have the same operators. LiteRT runs both
kinds; TFLite Micro has no float16 DEQUANTIZE, so the manifest of a float16 file says
why it has no arena.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from tinykws.export.manifest import METADATA_NAME, model_contract
from tinykws.export.tflite import ExportResult, write_export_manifest
from tinykws.formats.tflite_writer import write_tflite
from tinykws.intmodel.from_quantized import float_tflite_model
from tinykws.quant import prepare


def export_float_tflite(model: torch.nn.Module, path: str | os.PathLike, frontend: dict, labels: list[str],
                        weights: str = "float16", arena: bool = True) -> ExportResult:
    """Write float `model` (eval mode) as a float .tflite with `weights` "float16" or
    "float32" and its manifest; returns the paths, size in bytes and arena (if measured)."""
    path = Path(path)
    qmodel = prepare(model)
    shape = [1, *qmodel.input_shape, 1]
    io = {"input": {"shape": shape, "dtype": "float32", "scale": None, "zero_point": None},
          "output": {"shape": [1, qmodel.num_classes], "dtype": "float32", "scale": None, "zero_point": None}}
    contract = model_contract(qmodel.model_name, qmodel.model_kwargs, frontend, labels, io, {"weights": weights})
    metadata = {METADATA_NAME: json.dumps(contract, sort_keys=True).encode("utf-8")}
    tfl = float_tflite_model(qmodel, weights, metadata=metadata,
                             description=f"tinykws {qmodel.model_name} float32, {weights} weights")
    size = write_tflite(tfl, path)
    return write_export_manifest(path, size, contract, arena and weights == "float32")


def weight_bytes(path: str | os.PathLike) -> int:
    """Bytes of the constant tensors (weights, biases, shapes) stored in a .tflite file."""
    from tinykws.formats.tflite_reader import read_tflite

    return int(sum(np.asarray(t.data).nbytes for t in read_tflite(path).main.tensors if t.data is not None))
