"""Tracing gated and recurrent models: the operations of SiLU, sub-spectral norm, GRUs
and attention pooling, as a mixin of the tracer's builder (`quant.trace`).

Layouts beside those of `quant.graph`: "seq" is a (batch, time, features) tensor held as
is in TFLite; "seq_cf" the same, but with its features flattened from (channels,
frequency) in PyTorch while TFLite holds them as (frequency, channels) (its consumer's
weight columns are permuted, `attrs["cf"]` of its producer gives the two sizes); "ntcf"
is an NCHW tensor permuted to (batch, time, channels, frequency), only a step towards
"seq_cf". A GRU is unrolled over its time steps into fully connected, add, logistic,
tanh, mul and sub nodes whose weights (`param_key`) and activation ranges (`slot_key`)
are shared by every step, so the exported network stores each weight once.
"""

from __future__ import annotations

import torch

SEQUENCE_LAYOUTS = ("seq", "seq_cf")
_GATES = ("r", "z", "n")


class SequenceOps:
    """op_* handlers for gated and recurrent models; uses the builder's value registry."""

    def symbolic(self, shape: tuple[int, ...], layout: str) -> int:
        """A new value with no PyTorch tensor behind it (inside an unrolled operation)."""
        v = self.next_value
        self.next_value += 1
        self.shapes[v] = tuple(shape)
        self.layouts[v] = layout
        return v

    def node(self, kind: str, inputs: list[int], shape: tuple[int, ...], layout: str, source: str,
             attrs=None, params=None) -> int:
        from tinykws.quant.graph import GraphNode

        v = self.symbolic(shape, layout)
        self.nodes.append(GraphNode(kind, inputs, v, dict(attrs or {}), dict(params or {}), source))
        return v

    # ---- activations ---------------------------------------------------------------
    def op_sigmoid(self, x, args, kwargs, out) -> None:
        self.add("logistic", [x], out, self.layouts[x], "sigmoid")

    def op_tanh(self, x, args, kwargs, out) -> None:
        self.add("tanh", [x], out, self.layouts[x], "tanh")

    def op_silu(self, x, args, kwargs, out) -> None:
        # x * sigmoid(x): TFLite's LOGISTIC, then MUL.
        gate = self.node("logistic", [x], self.shapes[x], self.layouts[x], "silu")
        self.add("mul", [x, gate], out, self.layouts[x], "silu")

    def op_sub_spectral_norm(self, x, args, kwargs, out) -> None:
        norm, groups = args[1], args[2]
        if norm.training or norm.running_mean is None:
            raise self.fail("sub_spectral_norm without running statistics (call model.eval())")
        mean, var, eps = norm.running_mean, norm.running_var, norm.eps
        weight = norm.weight if norm.weight is not None else torch.ones_like(mean)
        bias = norm.bias if norm.bias is not None else torch.zeros_like(mean)
        if self.layouts[x] != "nchw":
            raise self.fail("sub_spectral_norm of anything but a (batch, channels, time, freq) tensor")
        _, c, _, f = self.shapes[x]
        factor = weight.detach().double() / torch.sqrt(var.detach().double() + float(eps))
        shift = bias.detach().double() - mean.detach().double() * factor
        # statistics are indexed channel * groups + band; band of bin k is k // (f / groups)
        band = torch.arange(f) // (f // int(groups))
        scale = factor.reshape(c, int(groups))[:, band].float()
        offset = shift.reshape(c, int(groups))[:, band].float()
        self.add("affine", [x], out, "nchw", "sub_spectral_norm", {}, {"weight": scale, "bias": offset})

    # ---- attention -----------------------------------------------------------------
    def op_bmm(self, x, args, kwargs, out) -> None:
        a, b = self.value_of(args[0]), self.value_of(args[1])
        if a is None or b is None or self.layouts[a] != "seq" or self.layouts[b] != "seq":
            raise self.fail("bmm of anything but two (batch, rows, columns) tensors computed from the input")
        self.add("batch_matmul", [a, b], out, "seq", "bmm")

    # ---- the GRU -------------------------------------------------------------------
    def op_gru(self, x, args, kwargs, out) -> None:
        """torch's gru(input, hx, weights, has_biases, num_layers, dropout, train,
        bidirectional, batch_first) unrolled over time."""
        hx, weights, has_biases, layers, _, _, bidirectional, batch_first = args[1:9]
        if layers != 1 or bidirectional or not batch_first or not has_biases:
            raise self.fail("a GRU other than one layer, one direction, batch_first, with biases")
        if self.value_of(hx) is not None or bool(hx.detach().abs().max() > 0):
            raise self.fail("a GRU whose initial state is not zero")
        if self.layouts[x] not in SEQUENCE_LAYOUTS:
            raise self.fail("a GRU on anything but a (batch, time, features) tensor")
        w_ih, w_hh, b_ih, b_hh = (w.detach().float() for w in weights)
        hidden = w_hh.shape[1]
        batch, steps, _ = self.shapes[x]
        rows = {g: slice(k * hidden, (k + 1) * hidden) for k, g in enumerate(_GATES)}
        key = f"gru{len(self.nodes)}"
        # Input projections of every step at once; the hidden biases of r and z add up with them.
        projected = {}
        for g in _GATES:
            bias = b_ih[rows[g]] + (b_hh[rows[g]] if g != "n" else 0)
            projected[g] = self.node("linear", [x], (batch, steps, hidden), "seq", f"gru input {g}",
                                     {"activation": "NONE"}, {"weight": w_ih[rows[g]].clone(), "bias": bias.clone()})
        step_shape = (batch, 1, hidden)
        h = self.node("const", [], (1, 1, hidden), "seq", "gru initial state",
                      {"slot_key": f"{key}.h"}, {"value": torch.zeros(1, 1, hidden)})
        states = []
        for t in range(steps):
            h = self._gru_step(key, t, projected, h, w_hh, b_hh, rows, step_shape)
            states.append(h)
        sequence = self.node("concat_steps", states, (batch, steps, hidden), "seq", "gru states")
        self.ids[id(out[0])] = sequence
        self.keep.append(out[0])
        last = self.symbolic(tuple(out[1].shape), "unsupported")  # h_n: no TFLite form wanted
        self.ids[id(out[1])] = last
        self.keep.append(out[1])

    def _gru_step(self, key, t, projected, h, w_hh, b_hh, rows, shape) -> int:
        def shared(kind, inputs, role, attrs=None, params=None, param_role=None):
            attrs = dict(attrs or {}, slot_key=f"{key}.{role}")
            if param_role:
                attrs["param_key"] = f"{key}.{param_role}"
            return self.node(kind, inputs, shape, "seq", f"gru step {t} {role}", attrs, params)

        x_t = {g: self.node("select_step", [projected[g]], shape, "seq", f"gru step {t}", {"step": t})
               for g in _GATES}
        hidden = {}
        for g in _GATES:
            bias = b_hh[rows[g]].clone() if g == "n" else torch.zeros(w_hh.shape[1])
            hidden[g] = shared("linear", [h], f"hidden_{g}", {"activation": "NONE"},
                               {"weight": w_hh[rows[g]].clone(), "bias": bias}, param_role=f"hidden_{g}")
        gates = {}
        for g in ("r", "z"):
            pre = shared("add", [x_t[g], hidden[g]], f"{g}_pre", {"activation": "NONE"})
            gates[g] = shared("logistic", [pre], g)
        reset_hidden = shared("mul", [gates["r"], hidden["n"]], "reset_hidden")
        candidate = shared("tanh", [shared("add", [x_t["n"], reset_hidden], "n_pre", {"activation": "NONE"})], "n")
        # h' = (1 - z) n + z h = n + z (h - n)
        change = shared("mul", [gates["z"], shared("sub", [h, candidate], "h_minus_n")], "z_times_delta")
        return shared("add", [candidate, change], "h", {"activation": "NONE"})
