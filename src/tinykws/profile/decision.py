"""One keyword decision on the microcontroller, split into its three stages: the
front-end on one 1 s clip of 16-bit PCM (pre-processing), the network on the features
the device computed, and the post-processing of the network's int8 output (argmax and
smoothing over a window of outputs), each in instructions counted on qemu and as a share
of the decision.

The front-end figure is per clip: `tkws_features` computes every frame of the clip in
each call. A streaming device that classifies a sliding 1 s window every hop could keep
the frames of earlier hops and compute only the new ones; that is not what is measured
here (and the MLPerf MFCC, which scales each clip by its own peak, cannot reuse frames).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from tinykws.codegen.frontends.generate import FrontendCodegenResult
from tinykws.mcu.firmware import SectionSizes
from tinykws.profile.frontend_mcu import FrontendMcuRun
from tinykws.profile.postprocess_mcu import PostprocessMcuRun

STAGES = ("pre-processing", "network", "post-processing")


@dataclass(frozen=True)
class DecisionStage:
    """One stage: what it is, its instructions per decision, the stack it used, its
    static RAM (data + bss: front-end state and buffers, the network's arena, the
    smoother) and flash (code + constants), bytes from arm-none-eabi-size: the firmware
    less the same firmware without the stage."""

    name: str
    what: str
    instructions: int
    stack_bytes: int
    static_ram_bytes: int
    flash_bytes: int


@dataclass(frozen=True)
class DecisionSplit:
    """The stages of one decision on `clip` (its top class `label`, before smoothing) and
    the front-end's frames (`frames` per clip). `per` says what one decision covers."""

    clip: str
    frontend: str
    frames: int
    window: int
    label: str | None
    stages: tuple[DecisionStage, ...]
    per: str = "one whole 1 s clip per decision: every frame computed, not a streaming hop"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def instructions(self) -> int:
        """Instructions of the whole decision: the three stages."""
        return sum(s.instructions for s in self.stages)

    def share(self, stage: DecisionStage) -> float:
        """The stage's fraction of the decision's instructions."""
        return stage.instructions / self.instructions if self.instructions else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Every figure, JSON-ready."""
        return {
            "clip": self.clip, "frontend": self.frontend, "per": self.per, "frames_per_clip": self.frames,
            "smoothing_window": self.window, "label": self.label, "instructions": self.instructions,
            "flash_bytes": sum(s.flash_bytes for s in self.stages),
            "ram_bytes": sum(s.static_ram_bytes for s in self.stages) + max(s.stack_bytes for s in self.stages),
            "stages": [{"name": s.name, "what": s.what, "instructions": s.instructions, "share": self.share(s),
                        "stack_bytes": s.stack_bytes, "static_ram_bytes": s.static_ram_bytes,
                        "flash_bytes": s.flash_bytes} for s in self.stages],
            "notes": list(self.notes),
        }


def decision_split(*, clip: str, frontend: FrontendCodegenResult, pre: FrontendMcuRun, network_instructions: int,
                   network_stack_bytes: int, network_sizes: SectionSizes, post: PostprocessMcuRun,
                   labels: Sequence[str] | None) -> DecisionSplit:
    """The split of one decision from the three measurements (the first clip of `pre`,
    the network on its features with the model's own section sizes, the
    post-processing's last, steady-state call)."""
    frames = frontend.output_shape[0]
    top = int(post.decisions[-1][0])
    stages = (
        DecisionStage(STAGES[0], f"{frontend.frontend.get('kind', frontend.kind)} front-end (tkws_features), "
                      f"{frames} frames of {frontend.clip_samples:,} samples", int(pre.instructions[0]),
                      int(pre.stack_bytes[0]), pre.own_sizes.static_ram, pre.own_sizes.flash),
        DecisionStage(STAGES[1], "the network (tkws_invoke) on the device's features", int(network_instructions),
                      int(network_stack_bytes), network_sizes.static_ram, network_sizes.flash),
        DecisionStage(STAGES[2], f"argmax + mean of the last {post.window} outputs (tkws_postprocess)",
                      post.per_decision, int(post.stack_bytes[-1]), post.own_sizes.static_ram, post.own_sizes.flash),
    )
    if frontend.frontend.get("peak_normalize"):
        notes = ["this front-end scales each clip by its own peak, so a streaming device cannot reuse the frames "
                 "of earlier hops: the per-clip figure is what it spends per decision"]
    else:
        notes = [f"pre-processing averages {stages[0].instructions / frames:,.0f} instructions per frame "
                 f"({stages[0].instructions:,} / {frames}); a streaming device that computed only the frames new "
                 "since the last decision would spend about that per new frame (not measured)"]
    notes.append("post-processing: the last of the calls on the same output repeated, with the window full; it "
                 "includes the measuring wrapper's flag test and 20-byte copy of the decision")
    notes.append("flash and static RAM per stage: its firmware less the same firmware without it (arm-none-eabi-size); "
                 "the decision's: the sum over the stages (C library code two stages use, such as memcpy, counted in "
                 "each), its RAM plus the deepest stack of the three")
    return DecisionSplit(clip=clip, frontend=str(frontend.frontend.get("kind", frontend.kind)), frames=frames,
                         window=post.window, label=labels[top] if labels and top < len(labels) else None,
                         stages=stages, notes=tuple(notes))
