"""Knowledge distillation: a frozen teacher's softened outputs as an extra target.

loss = (1 - alpha) * CE(student, labels) + alpha * T^2 * KL(softmax(t / T) || softmax(s / T))
       + beta * sum over attention layers of KL(teacher attention || student attention)

The T^2 factor keeps the soft term's gradient scale independent of the temperature
(Hinton et al. 2015). The attention term (beta = `distill.attention`) matches the
student's distribution of attention over time to the teacher's, for models with
attention pooling. The teacher is a tinykws checkpoint (.pt) or a float .tflite imported
with `tinykws.models.tflite_import`, or an ensemble of them; it gets its own front-end's features.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from tinykws.errors import ConfigError, ModelFormatError


def pool_attention(weights: torch.Tensor, steps: int) -> torch.Tensor:
    """Attention over T frames (batch, T) summed onto `steps` coarser steps of a model whose
    causal convolution strides along time: step k ends at frame k * stride with
    stride = (T - 1) / (steps - 1), and frame t belongs to the step ceil(t / stride)."""
    frames = weights.shape[1]
    if steps == frames:
        return weights
    if steps < 2 or (frames - 1) % (steps - 1):
        raise ConfigError(f"distill.attention: {frames} teacher steps do not map onto {steps} student steps")
    stride = (frames - 1) // (steps - 1)
    index = torch.div(torch.arange(frames) + stride - 1, stride, rounding_mode="floor")
    pooled = torch.zeros(weights.shape[0], steps, dtype=weights.dtype)
    return pooled.index_add(1, index, weights)


def attention_kl(student_weights: torch.Tensor, teacher_weights: torch.Tensor) -> torch.Tensor:
    """Per-clip KL(teacher || student) of two attention distributions over time, shape (B,);
    a teacher with more (finer) steps is pooled onto the student's (`pool_attention`)."""
    if teacher_weights.shape[1] < student_weights.shape[1]:
        raise ConfigError(f"distill.attention: the student attends over {student_weights.shape[1]} steps, "
                          f"more than the teacher's {teacher_weights.shape[1]}")
    p = pool_attention(teacher_weights.detach(), student_weights.shape[1]).clamp_min(1e-12)
    return (p * (p.log() - student_weights.clamp_min(1e-12).log())).sum(dim=1)


def distillation_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Per-clip T^2 * KL(teacher_T || student_T), shape (B,)."""
    t = float(temperature)
    log_p_student = F.log_softmax(student_logits / t, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits.detach() / t, dim=1)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=1)
    return kl * (t * t)


@dataclass
class Teacher:
    """A frozen model and the front-end dict its inputs need (None: same as the student)."""

    model: torch.nn.Module
    frontend: dict[str, Any] | None
    labels: list[str] | None
    source: str
    frontend_module: torch.nn.Module | None = None  # set when it differs from the student's
    attention_pairs: list = field(default_factory=list)  # (student layer, teacher layer) when distilling attention

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def watch_attention(self, student: torch.nn.Module) -> None:
        """Keep the attention weights of the student's and the teacher's attention layers."""
        from tinykws.models.crnn import record_attention

        mine, theirs = record_attention(student), record_attention(self.model)
        if not mine or len(mine) != len(theirs):
            raise ConfigError(f"distill.attention needs attention pooling in the student and the teacher "
                              f"{self.source} (found {len(mine)} and {len(theirs)} layers)")
        self.attention_pairs = list(zip(mine, theirs))

    def label_free_loss(self, student_logits: torch.Tensor, teacher_x: torch.Tensor, cfg) -> torch.Tensor:
        """The teacher's per-clip terms (B,): alpha * T^2 * KL of the logits plus attention *
        KL of the attention; `cfg` is the recipe's `distill` section."""
        total = cfg.alpha * distillation_kl(student_logits, self.logits(teacher_x), cfg.temperature)
        for student_layer, teacher_layer in self.attention_pairs:
            total = total + cfg.attention * attention_kl(student_layer.last_weights, teacher_layer.last_weights)
        return total


def load_teacher(path: str | os.PathLike, tflite_model: str = "ds_cnn", tflite_frontend: str = "") -> Teacher:
    """A teacher from a tinykws checkpoint (.pt) or a float .tflite.

    A .tflite carries no front-end or architecture name: it is imported into zoo model
    `tflite_model`, and its inputs are computed with `tflite_frontend` (default: that
    model's default front-end preset).
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"distill.teacher {p}: file not found")
    if p.suffix == ".tflite":
        from tinykws.audio.frontends import build_frontend
        from tinykws.models.registry import model_info
        from tinykws.models.tflite_import import import_float_tflite

        try:
            imported = import_float_tflite(p, tflite_model)
        except ModelFormatError as exc:
            raise ConfigError(f"distill.teacher: {exc}") from None
        frontend = build_frontend(tflite_frontend or model_info(tflite_model).frontend).to_dict()
        return Teacher(_frozen(imported.model), frontend, None, str(p))
    from tinykws.train.checkpoint import load_model

    try:
        model, ckpt = load_model(p)
    except ModelFormatError as exc:
        raise ConfigError(f"distill.teacher: {exc}") from None
    return Teacher(_frozen(model), ckpt.frontend, ckpt.labels, str(p))


class EnsembleLogits(torch.nn.Module):
    """Members' mean log-probability as logits: softmax(mean_i log p_i), the normalised
    geometric mean of their distributions (a member's logit offset does not count)."""

    def __init__(self, members: Sequence[torch.nn.Module]):
        super().__init__()
        self.members = torch.nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([F.log_softmax(m(x), dim=1) for m in self.members]).mean(dim=0)


def load_teachers(paths: Sequence[str], tflite_model: str = "ds_cnn", tflite_frontend: str = "") -> Teacher:
    """The teacher of `paths`: load_teacher's for one file; for several, their ensemble
    (EnsembleLogits), whose members must share the front-end and the labels."""
    if len(paths) == 1:
        return load_teacher(paths[0], tflite_model, tflite_frontend)
    members = [load_teacher(p, tflite_model, tflite_frontend) for p in paths]
    first = members[0]
    for m in members[1:]:
        if (m.labels is None) != (first.labels is None):
            raise ConfigError(f"distill.teacher: ensemble members {first.source} and {m.source} mix a float "
                              ".tflite (no labels) with a tinykws checkpoint; an ensemble's members are of one kind")
        for what, mine, theirs in (("front-end", m.frontend, first.frontend), ("labels", m.labels, first.labels)):
            if mine != theirs:
                raise ConfigError(f"distill.teacher: ensemble member {m.source} has other {what} than "
                                  f"{first.source}; an ensemble's members share both")
    return Teacher(_frozen(EnsembleLogits([m.model for m in members])), first.frontend, first.labels,
                   " + ".join(m.source for m in members))


def _frozen(model: torch.nn.Module) -> torch.nn.Module:
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def teacher_only_inputs(
    clips: np.ndarray, mix_share: float, crop_share: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Replace parts of a batch of waveforms (B, samples) by inputs only the teacher labels.

    The first round(mix_share * B) positions of a random order become mixtures of two clips
    of the batch (the second at 0.3-1.0 of the first's RMS: one word over another, a near
    miss); the next round(crop_share * B) keep a random 25-60 % stretch of their clip (a
    partial word). Returns (new clips, labelled) where labelled is a bool mask (B,).
    """
    b = clips.shape[0]
    out = np.array(clips, dtype=np.float32, copy=True)
    labelled = np.ones(b, bool)
    order = rng.permutation(b)
    n_mix, n_crop = int(round(mix_share * b)), int(round(crop_share * b))
    n_mix, n_crop = min(n_mix, b), min(n_crop, b - min(n_mix, b))
    partners = rng.integers(0, b, size=n_mix)
    gains = rng.uniform(0.3, 1.0, size=n_mix)
    for i, j, g in zip(order[:n_mix], partners, gains):
        a, other = clips[i], clips[j]
        rms_a = float(np.sqrt(np.mean(a.astype(np.float64) ** 2)))
        rms_o = float(np.sqrt(np.mean(other.astype(np.float64) ** 2)))
        scale = g * rms_a / rms_o if rms_o > 0 and rms_a > 0 else 0.0
        out[i] = np.clip(a + scale * other, -1.0, 1.0)
        labelled[i] = False
    n = clips.shape[-1]
    keep_share = rng.uniform(0.25, 0.6, size=n_crop)
    starts = rng.uniform(0.0, 1.0, size=n_crop)
    for i, keep, start in zip(order[n_mix : n_mix + n_crop], keep_share, starts):
        length = int(keep * n)
        lo = int(start * (n - length))
        cropped = np.zeros(n, np.float32)
        cropped[lo : lo + length] = clips[i][lo : lo + length]
        out[i] = cropped
        labelled[i] = False
    return out, labelled


def teacher_rng(seed: int, epoch: int, batch: int) -> np.random.Generator:
    """The generator of one batch's teacher-only inputs."""
    return np.random.default_rng([int(seed), int(epoch), int(batch), 0x7EAC])
