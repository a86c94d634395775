"""Layer 7: always-on keyword spotting over streams (docs/architecture.md, "Streaming").

    from tinykws.stream import Detector
    with Detector("runs/ds_cnn_stream/int8", runtime="tflm") as detector:
        for chunk in chunks:                      # audio of any size, 16 kHz mono
            for d in detector.process(chunk):
                print(d.label, d.time_s, d.score)

- `plan.py`: which operations of a clip network keep state when it runs frame by frame;
- `float_step.py` / `crnn.py`: the float streaming step of a trained model (PyTorch);
- `tflite_step.py`: the int8 streaming step as a .tflite with its state as extra inputs and
  outputs (the numpy runtime, LiteRT, TFLite Micro and the generated C run it);
- `steppers.py`, `posteriors.py`, `open.py`: audio in, class probabilities per hop out, in
  any runtime, or by whole windows for models that cannot stream exactly;
- `detector.py`: smoothing, thresholds, refractory period; `run.py`: one stream end to end;
- `evaluate.py`: false rejections against false accepts per hour on evaluation streams.
"""

from tinykws.stream.detector import Detection, Detector, DetectorConfig
from tinykws.stream.open import open_stream
from tinykws.stream.plan import StreamRefusal

__all__ = ["Detection", "Detector", "DetectorConfig", "StreamRefusal", "open_stream"]
