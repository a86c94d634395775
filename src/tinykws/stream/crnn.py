"""The streaming form of crnn_gru_att (causal convolution, GRU, attention over time).

A GRU that carries its state over an endless stream is not the GRU of a 1 s window, which
starts from zero at the window's first frame, so this model streams in two modes:

- "reset" (exact from a reset): the convolution's ring buffer starts as zeros (its causal
  padding) and the GRU from a zero state; attention over every GRU output since the reset
  is kept as a running softmax (the largest score, the sum of exponentials and the weighted
  sum of states). Output row t equals the clip model on the first t + 1 frames since the
  reset, so after T frames it is the clip model's output on that window.
- "carry" (an approximation for endless streams): the GRU state is carried forever and
  attention pools the last `window` GRU outputs, kept in a ring buffer. How far it is from
  the clip model on sliding windows is measured (`bench/stream.py`), not assumed.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from tinykws.errors import ConfigError
from tinykws.stream.plan import StreamRefusal

MODES = ("reset", "carry")
State = tuple[torch.Tensor, ...]


class CRNNStreamStep:
    """Frame-by-frame crnn_gru_att with explicit state (see the module docstring).

    step(frames (n, features), state) -> (logits (n, classes), state). `lag` is the
    attention window of "carry" mode (`window` - 1); in "reset" mode outputs are exact
    from the reset on.
    """

    def __init__(self, model: torch.nn.Module, mode: str = "carry", window: int | None = None):
        if mode not in MODES:
            raise ConfigError(f"crnn streaming mode must be one of {', '.join(MODES)}, got {mode!r}")
        for part in ("conv", "bn", "gru", "attention", "fc"):
            if not hasattr(model, part):
                raise StreamRefusal(f"{getattr(model, 'model_name', type(model).__name__)}: not a crnn_gru_att "
                                    f"model (no {part!r})")
        self.model = model.eval()
        self.mode = mode
        self.input_frames, self.num_features = (int(v) for v in model.input_shape)
        self.window = int(window or self.input_frames)
        self.lag = self.window - 1
        self.kernel_t = model.conv.kernel_size[0]
        _, freq_pads = model.conv.paddings(self.kernel_t, self.num_features)
        self.freq_pads = freq_pads
        self.hidden = model.gru.hidden_size

    def initial_state(self) -> State:
        """Zeros for the convolution buffer and the GRU; an empty attention."""
        conv = torch.zeros(1, 1, self.kernel_t - 1, self.num_features)
        h = torch.zeros(1, 1, self.hidden)
        if self.mode == "reset":
            return conv, h, torch.tensor([-math.inf]), torch.zeros(1), torch.zeros(self.hidden)
        return conv, h, torch.zeros(self.window, self.hidden), torch.zeros(self.window), torch.zeros(1, dtype=torch.long)

    @torch.no_grad()
    def step(self, frames: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        m = self.model
        frames = torch.as_tensor(frames, dtype=torch.float32)
        if frames.dim() != 2 or frames.shape[1] != self.num_features:
            raise ValueError(f"expected frames (n, {self.num_features}), got {tuple(frames.shape)}")
        n = frames.shape[0]
        buffer = torch.cat([state[0], frames.reshape(1, 1, n, self.num_features)], dim=2)
        x = F.pad(buffer, (*self.freq_pads, 0, 0))
        x = F.conv2d(x, m.conv.weight, m.conv.bias, m.conv.stride, 0, m.conv.dilation)
        x = torch.relu(m.bn(x))  # (1, C, n, F')
        x = x.permute(0, 2, 1, 3).reshape(1, n, -1)
        states, h = m.gru(x, state[1])
        states = states[0]  # (n, hidden)
        scores = m.attention.score(torch.tanh(m.attention.proj(states))).squeeze(-1)  # (n,)
        conv_state = buffer[:, :, n:]
        if self.mode == "reset":
            pooled, attention = self._running_softmax(states, scores, state[2:])
        else:
            pooled, attention = self._windowed(states, scores, state[2:])
        return m.fc(pooled), (conv_state, h, *attention)

    def _running_softmax(self, states, scores, attention) -> tuple[torch.Tensor, State]:
        best, total, weighted = attention
        rows = []
        for j in range(len(states)):
            new_best = torch.maximum(best, scores[j:j + 1])
            decay = torch.exp(best - new_best)
            e = torch.exp(scores[j:j + 1] - new_best)
            total = total * decay + e
            weighted = weighted * decay + e * states[j]
            best = new_best
            rows.append(weighted / total)
        return torch.stack(rows), (best, total, weighted)

    def _windowed(self, states, scores, attention) -> tuple[torch.Tensor, State]:
        # a state's attention score does not change once computed: keep the scores of the
        # last `window` states beside them, so a step scores only its new states
        ring, ring_scores, seen = attention
        rows = []
        for j in range(len(states)):
            ring = torch.cat([ring[1:], states[j:j + 1]])
            ring_scores = torch.cat([ring_scores[1:], scores[j:j + 1]])
            seen = seen + 1
            filled = int(min(seen.item(), self.window))
            weights = torch.softmax(ring_scores[-filled:], dim=0)
            rows.append(weights @ ring[-filled:])
        return torch.stack(rows), (ring, ring_scores, seen)

    def macs_per_frame(self) -> int:
        """Multiply-accumulates of one frame: the convolution's output column, the GRU cell,
        the new state's attention score, the weighted sum (over `window` states in "carry"
        mode, a running one in "reset" mode) and the classifier."""
        m = self.model
        conv = m.conv.out_channels * m.conv.kernel_size[0] * m.conv.kernel_size[1] * \
            math.ceil(self.num_features / m.conv.stride[1])
        gru = 3 * self.hidden * (m.gru.input_size + self.hidden)
        score = m.attention.proj.in_features * m.attention.proj.out_features + m.attention.proj.out_features
        pooled = self.hidden * (self.window if self.mode == "carry" else 2)
        return int(conv + gru + score + pooled + m.fc.in_features * m.fc.out_features)
