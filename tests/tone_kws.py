"""A tiny keyword spotter trained in seconds on the tone "words" of datagen.py, for tests
that need a model that really detects something (streaming, the detector, the CLI).

Labels yes, no, silence, unknown; a time_valid DS-CNN on the MLPerf MFCC without peak
normalisation, so that it streams frame by frame. Written as a tinykws checkpoint and as
an int8 .tflite with its manifest (the files `tinykws stream` opens).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from datagen import word_clip
from tinykws.audio.frontends import build_frontend
from tinykws.export import export_tflite
from tinykws.models import build_model
from tinykws.quant import quantize_ptq
from tinykws.train.checkpoint import Checkpoint, save_checkpoint

LABELS = ["yes", "no", "silence", "unknown"]
UNKNOWN_WORDS = ("bed", "cat", "dog")
LAYERS = [[24, 10, 4, 2, 2], [24, 3, 3, 1, 1], [24, 3, 3, 1, 1]]


@dataclass(frozen=True)
class ToneModel:
    checkpoint: Path
    tflite: Path
    labels: list[str]
    accuracy: float  # on fresh clips


def frontend():
    return build_frontend("mlperf_mfcc", peak_normalize=False)


def keyword(word: str, n: int) -> np.ndarray:
    """One second of `word` said by a test speaker (take n)."""
    return word_clip(word, f"spk{n % 5}", n)


def _clips(rng: np.random.Generator, per_class: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    clips, labels = [], []
    for i in range(per_class):
        n = offset + i
        noise = rng.uniform(0.0005, 0.01) * rng.standard_normal(16000)
        clips += [keyword("yes", n) + noise, keyword("no", n) + noise, 3 * noise,
                  keyword(UNKNOWN_WORDS[i % 3], n) + noise]
        labels += [0, 1, 2, 3]
    return np.stack(clips).astype(np.float32), np.array(labels)


def train_tone_model(folder: Path, steps: int = 80) -> ToneModel:
    """Train, check and write the tone model into `folder` (about 5 s on one thread)."""
    fe = frontend()
    rng = np.random.default_rng(0)
    x_train, y_train = _clips(rng, 40, 0)
    x_test, y_test = _clips(rng, 10, 1000)
    f_train = torch.from_numpy(fe.compute_batch(x_train)).unsqueeze(1)
    f_test = torch.from_numpy(fe.compute_batch(x_test)).unsqueeze(1)
    torch.manual_seed(0)
    model = build_model("ds_cnn", num_classes=len(LABELS), layers=LAYERS, time_valid=True, dropout=0.0,
                        final_dropout=0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(steps):
        batch = torch.randint(0, len(f_train), (32,), generator=g)
        loss = torch.nn.functional.cross_entropy(model(f_train[batch]), torch.from_numpy(y_train)[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = float((model(f_test).argmax(1).numpy() == y_test).mean())
    kwargs = {k: v for k, v in model.model_kwargs.items() if k != "num_classes"}
    checkpoint = save_checkpoint(Checkpoint("ds_cnn", kwargs, len(LABELS), model.state_dict(), fe.to_dict(),
                                            LABELS), folder / "tone.pt")
    qmodel = quantize_ptq(model, f_train[::4, 0].numpy())
    exported = export_tflite(qmodel, folder / "int8" / "model.tflite", fe.to_dict(), LABELS, arena=False)
    return ToneModel(checkpoint, exported.tflite_path, LABELS, accuracy)
