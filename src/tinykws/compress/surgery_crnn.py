"""Structured pruning of crnn_gru_att: three groups.

- "conv": channels of the convolution (+ its batch norm); the GRU reads channel c as the
  input columns c * F' + f of every gate (F' frequency bins after the convolution);
- "hidden": GRU units; unit j is rows j, H + j, 2H + j (gates r, z, n) of the input and
  hidden weights and biases, and is read by column j of the hidden weights, of the
  attention projection and of the classifier;
- "attention": units of the attention projection (rows, bias), read by the score's columns.
"""

from __future__ import annotations

from torch import nn

from tinykws.compress.channels import ChannelGroup, ChannelPlan, copy_into, l1_of_rows, register_surgeon
from tinykws.models import build_model


def _gate_rows(kept: list[int], hidden: int) -> list[int]:
    return [g * hidden + j for g in range(3) for j in kept]


@register_surgeon("crnn_gru_att")
class CRNNSurgeon:
    def groups(self, model: nn.Module) -> list[ChannelGroup]:
        gru, hidden = model.gru, model.gru.hidden_size
        unit_l1 = sum(l1_of_rows(w.detach()[g * hidden:(g + 1) * hidden])
                      for g in range(3) for w in (gru.weight_ih_l0, gru.weight_hh_l0))
        return [
            ChannelGroup("conv", model.conv.out_channels, l1_of_rows(model.conv.weight),
                         model.bn.weight.detach().abs()),
            ChannelGroup("hidden", hidden, unit_l1),
            ChannelGroup("attention", model.attention.proj.out_features, l1_of_rows(model.attention.proj.weight)),
        ]

    def prune(self, model: nn.Module, plan: ChannelPlan) -> nn.Module:
        kwargs = dict(model.model_kwargs)
        conv = plan.kept("conv", kwargs["conv_channels"])
        hidden = plan.kept("hidden", kwargs["hidden"])
        attention = plan.kept("attention", kwargs["attention"])
        bins = model.gru.input_size // kwargs["conv_channels"]
        columns = [c * bins + f for c in conv for f in range(bins)]
        rows = _gate_rows(hidden, kwargs["hidden"])
        index = {
            "conv.weight": [(0, conv)], "bn.weight": [(0, conv)], "bn.bias": [(0, conv)],
            "bn.running_mean": [(0, conv)], "bn.running_var": [(0, conv)],
            "gru.weight_ih_l0": [(0, rows), (1, columns)], "gru.weight_hh_l0": [(0, rows), (1, hidden)],
            "gru.bias_ih_l0": [(0, rows)], "gru.bias_hh_l0": [(0, rows)],
            "attention.proj.weight": [(0, attention), (1, hidden)], "attention.proj.bias": [(0, attention)],
            "attention.score.weight": [(1, attention)], "fc.weight": [(1, hidden)],
        }
        kwargs.update(conv_channels=len(conv), hidden=len(hidden), attention=len(attention))
        num_classes = kwargs.pop("num_classes")
        pruned = build_model(model.model_name, num_classes=num_classes, **kwargs)
        copy_into(pruned, model, index)
        return pruned

