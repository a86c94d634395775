"""Quantization-aware training: fine-tune a calibrated QuantizedModel with fake quant.

Gradients flow through the fake-quant rounding by the straight-through estimator; the
weight scales follow the weights (max |w| each step), the activation ranges stay those
of the calibration. Batches come from the training loop's batch machinery
(`tinykws.train.batches`), so the clip order is seeded and reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from tinykws.errors import ConfigError
from tinykws.eval.runner import output_scores, run_batches
from tinykws.quant.qmodel import QuantizedModel
from tinykws.quant.runner import FakeQuantRunner
from tinykws.train.batches import ArraySource, TrainData, iterate_batches, num_batches
from tinykws.train.distill import distillation_kl


@dataclass(frozen=True)
class QATResult:
    """Per-epoch mean training loss and (if validation data was given) accuracy in %."""

    losses: tuple[float, ...]
    val_accuracy: tuple[float, ...] = field(default_factory=tuple)


def _accuracy(qmodel: QuantizedModel, x: np.ndarray, y: np.ndarray) -> float:
    runner = FakeQuantRunner(qmodel, [str(i) for i in range(qmodel.num_classes)], {}, qmodel.model_name)
    scores = output_scores(run_batches(runner, x), runner.info)
    return 100.0 * float(np.mean(scores.argmax(-1) == y))


def finetune_qat(qmodel: QuantizedModel, features: np.ndarray, labels: np.ndarray, epochs: int,
                 lr: float = 1e-4, batch_size: int = 100, seed: int = 0,
                 validation: tuple[np.ndarray, np.ndarray] | None = None,
                 teacher: torch.nn.Module | None = None, temperature: float = 2.0) -> QATResult:
    """Fine-tune `qmodel` in place on features (N, frames, features) with labels (N,).

    Adam with a cosine decay from `lr` over `epochs`; returns the losses per epoch.
    teacher: a float model (usually the one quantized) whose softened outputs the quantized
    model learns instead of the labels (distillation), which keeps classes that the
    fine-tuning data lacks.
    """
    if teacher is not None:
        teacher.eval()
    if epochs < 1:
        raise ConfigError(f"QAT needs at least one epoch, got {epochs}")
    qmodel.set_mode("quantized")
    data = TrainData([ArraySource(features, labels)])
    optimizer = torch.optim.Adam(qmodel.parameters(), lr=lr)
    steps = epochs * num_batches(data, batch_size)
    step = 0
    losses, accs = [], []
    for epoch in range(epochs):
        qmodel.train()
        total, count = 0.0, 0
        for clips, targets in _batches(data, batch_size, seed, epoch):
            for group in optimizer.param_groups:
                group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
            x = torch.as_tensor(clips, dtype=torch.float32).unsqueeze(1)
            logits = qmodel(x)
            if teacher is None:
                loss = F.cross_entropy(logits, torch.as_tensor(targets, dtype=torch.int64))
            else:
                with torch.no_grad():
                    teacher_logits = teacher(x)
                loss = distillation_kl(logits, teacher_logits, temperature).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(targets)
            count += len(targets)
            step += 1
        losses.append(total / max(count, 1))
        if validation is not None:
            accs.append(_accuracy(qmodel, *validation))
    qmodel.eval()
    return QATResult(tuple(losses), tuple(accs))


def _batches(data: TrainData, batch_size: int, seed: int, epoch: int):
    for clips, targets, _ in iterate_batches(data, epoch, batch_size, seed, augment=False):
        yield clips, targets
