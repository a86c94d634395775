"""Layer 7: the integer network and its numpy reference runtime.

    from tinykws.intmodel import intmodel_from_tflite, quantize, run
    model = intmodel_from_tflite("kws_ref_model.tflite")
    scores = run(model, quantize(features, model.input_tensors[0])).output
"""

from tinykws.intmodel.from_tflite import intmodel_from_tflite
from tinykws.intmodel.graph import IntModel, IntOp, IntTensor
from tinykws.fixedpoint.arithmetic import ARITHMETICS, DEFAULT_ARITHMETIC
from tinykws.intmodel.quantize_io import dequantize, quantize
from tinykws.intmodel.runtime import KERNELS, RunResult, run

__all__ = [
    "DEFAULT_ARITHMETIC", "KERNELS", "ARITHMETICS", "IntModel", "IntOp", "IntTensor", "RunResult", "dequantize",
    "intmodel_from_tflite", "quantize", "run",
]
