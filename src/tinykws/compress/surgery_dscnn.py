"""Structured pruning of DS-CNN (ds_cnn, ds_cnn_s/m/l): one channel group per row of
`layers`. Group 0 is produced by conv1 (+ bn1); group k > 0 by blocks[k-1].pointwise
(+ bn_pw). A group's channels are read by the next block's depthwise convolution (which
follows them, with its bn_dw) and the input columns of its pointwise layer, or, for the
last group, the input columns of the classifier."""

from __future__ import annotations

from torch import nn

from tinykws.compress.channels import ChannelGroup, ChannelPlan, copy_into, l1_of_rows, register_surgeon
from tinykws.models import build_model


def _producer(model: nn.Module, k: int) -> tuple[nn.Module, nn.Module]:
    if k == 0:
        return model.conv1, model.bn1
    block = model.blocks[k - 1]
    return block.pointwise, block.bn_pw


def _prefixes(k: int) -> tuple[str, str]:
    return ("conv1", "bn1") if k == 0 else (f"blocks.{k - 1}.pointwise", f"blocks.{k - 1}.bn_pw")


@register_surgeon("ds_cnn", "ds_cnn_s", "ds_cnn_m", "ds_cnn_l")
class DSCNNSurgeon:
    def groups(self, model: nn.Module) -> list[ChannelGroup]:
        found = []
        for k in range(len(model.blocks) + 1):
            conv, norm = _producer(model, k)
            bn = norm.weight.detach().abs() if isinstance(norm, nn.BatchNorm2d) and norm.weight is not None else None
            found.append(ChannelGroup(f"layer{k}", conv.out_channels, l1_of_rows(conv.weight), bn))
        return found

    def prune(self, model: nn.Module, plan: ChannelPlan) -> nn.Module:
        rows = [list(r) for r in model.model_kwargs["layers"]]
        index: dict[str, list] = {}
        for k in range(len(rows)):
            kept = plan.kept(f"layer{k}", rows[k][0])
            rows[k][0] = len(kept)
            conv, norm = _prefixes(k)
            for name in (f"{conv}.weight", f"{conv}.bias", f"{norm}.weight", f"{norm}.bias", f"{norm}.running_mean",
                         f"{norm}.running_var"):
                index.setdefault(name, []).append((0, kept))
            if k < len(model.blocks):  # the next block's depthwise follows these channels
                block = f"blocks.{k}"
                for name in (f"{block}.depthwise.weight", f"{block}.depthwise.bias", f"{block}.bn_dw.weight",
                             f"{block}.bn_dw.bias", f"{block}.bn_dw.running_mean", f"{block}.bn_dw.running_var"):
                    index.setdefault(name, []).append((0, kept))
                index.setdefault(f"{block}.pointwise.weight", []).append((1, kept))
            else:
                index.setdefault("fc.weight", []).append((1, kept))
        kwargs = dict(model.model_kwargs, layers=rows)
        num_classes = kwargs.pop("num_classes")
        pruned = build_model(model.model_name, num_classes=num_classes, **kwargs)
        copy_into(pruned, model, index)
        return pruned
