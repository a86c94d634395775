"""Layer 8: .tflite export with manifests, the .tflite runtimes, verification, the quantize job.

- `tflite.export_tflite(qmodel, path, ...)`: the int8 file and its manifest;
- `runners`: "reference" (numpy), "litert", "tflm" as ModelRunners (`tinykws.eval.runner`);
- `verify.verify_tflite(path, inputs)`: identical int8 outputs in every engine, or not;
- `quantize_job.quantize_job(...)`: float model -> calibrated -> .tflite -> verified.
"""

from tinykws.export.engines import LiteRTEngine, TFLMEngine
from tinykws.export.manifest import embedded_manifest, read_manifest
from tinykws.export.tflite import ExportResult, export_tflite, measure_arena

__all__ = ["ExportResult", "LiteRTEngine", "TFLMEngine", "embedded_manifest", "export_tflite", "measure_arena",
           "read_manifest"]
