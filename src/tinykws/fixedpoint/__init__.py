"""Layer 0: TFLite integer arithmetic, the one definition used by the integer runtime
(intmodel/), the generated C code's parameters and every check against them.

- `primitives`: rounding, saturation, MultiplyByQuantizedMultiplier (single and double
  rounding), QuantizeMultiplier;
- `gemmlowp`: the fixed-point exp/reciprocal functions of the int8 softmax;
- `arithmetic`: which rounding each engine ("litert_ref", "tflite_micro") uses per operator.
"""
