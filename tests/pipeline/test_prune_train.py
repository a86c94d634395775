"""Gradual magnitude pruning in the training loop: the masks survive checkpoints and
resume (a resumed run equals an uninterrupted one), pruned weights stay exactly zero
through training and int8 export, and best.pt is taken at the final sparsity only."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_train_resume import _cfg, _data

from tinykws.compress import pruning_hooks, sparsity_report
from tinykws.train.batches import FEATURES, num_batches
from tinykws.train.checkpoint import load_checkpoint
from tinykws.train.config import PruneSection
from tinykws.train.loop import train


def test_pruned_weights_stay_zero_through_training_resume_and_export(tmp_path):
    data = _data(FEATURES)
    section = PruneSection(amount=0.7, scope="global", initial=0.2, start_epoch=0.0, end_epoch=2.0, every_steps=1)
    cfg = _cfg("ds_cnn", epochs=3)
    steps = num_batches(data, cfg.train.batch_size)
    full = train(cfg, data, tmp_path / "full", hooks=pruning_hooks(section, steps))
    train(cfg, data, tmp_path / "part", stop_after_epochs=2, hooks=pruning_hooks(section, steps))
    resumed = train(cfg, data, tmp_path / "part", resume=True, hooks=pruning_hooks(section, steps))
    assert resumed.epochs_completed == full.epochs_completed == 3
    a, b = load_checkpoint(tmp_path / "full" / "last.pt"), load_checkpoint(tmp_path / "part" / "last.pt")
    masks = a.hooks["magnitude_pruning"]["masks"]
    for name, mask in masks.items():
        assert torch.equal(mask, b.hooks["magnitude_pruning"]["masks"][name])
        assert torch.equal(a.state_dict[name], b.state_dict[name])
        assert not a.state_dict[name][~mask].any()  # pruned weights are exactly zero
    model = a.build_model()
    layers = sparsity_report(model)
    sparsity = 1 - sum(x.nonzero for x in layers) / sum(x.params for x in layers)
    assert sparsity == pytest.approx(0.7, abs=0.002)
    assert [h["sparsity"] for h in full.history][-1] == pytest.approx(sparsity)
    # best.pt comes only from epochs at the final sparsity
    assert load_checkpoint(tmp_path / "full" / "best.pt").epoch >= 2
    from tinykws.intmodel.from_quantized import tflite_model_from_quantized
    from tinykws.quant import quantize_ptq

    rng = np.random.default_rng(0)
    q = quantize_ptq(model, rng.normal(size=(4, 49, 10)).astype(np.float32))
    tfl = tflite_model_from_quantized(q)
    zero_codes = sum(int((t.data == 0).sum()) for t in tfl.main.tensors if t.data is not None and t.dtype == np.int8)
    assert zero_codes >= sum(int((~m).sum()) for m in masks.values())




def test_attention_distillation_trains_a_smaller_crnn(tmp_path):
    """distill.attention: the student's attention over time learns the teacher's (KL), with
    and without logit distillation; the loss term is computed from both models' weights."""
    from dataclasses import replace

    from tinykws.train.config import DistillConfig, ModelConfig
    from tinykws.train.distill import attention_kl, pool_attention

    p = torch.tensor([[0.7, 0.2, 0.1]])
    assert attention_kl(p.log().exp(), p).item() == pytest.approx(0.0, abs=1e-7)
    assert attention_kl(torch.tensor([[1 / 3] * 3]), p).item() > 0.2
    # a student striding 4 frames per step: its step k ends at frame 4k and gets frames 4k-3..4k
    frames = torch.eye(49)
    pooled = pool_attention(frames, 13)
    assert pooled.argmax(dim=1).tolist() == [(t + 3) // 4 for t in range(49)]
    data = _data(FEATURES)
    teacher = train(_cfg("crnn_gru_att", epochs=1), data, tmp_path / "teacher")
    losses = {}
    for alpha, beta in ((0.0, 1.0), (0.5, 1.0), (0.5, 0.0)):
        cfg = _cfg("crnn_gru_att", epochs=1)
        cfg = replace(cfg, model=ModelConfig("crnn_gru_att", {"hidden": 16, "attention": 8}),
                      distill=DistillConfig(teacher=str(teacher.best_path), alpha=alpha, temperature=2.0,
                                            attention=beta))
        losses[(alpha, beta)] = train(cfg, data, tmp_path / f"s{alpha}_{beta}").history[-1]["train_loss"]
    # The attention term adds to the loss (same seed, same batches, same start).
    assert losses[(0.5, 1.0)] > losses[(0.5, 0.0)]
    with pytest.raises(Exception, match="attention"):
        cfg = replace(_cfg("ds_cnn", epochs=1), distill=DistillConfig(teacher=str(teacher.best_path), attention=1.0))
        train(cfg, data, tmp_path / "bad")
