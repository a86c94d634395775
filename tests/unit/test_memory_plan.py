"""The memory planner: lifetimes, in-place rules, packing, and the overlap check (which must
catch a bad plan). That the in-place rules match the C kernels' read/write order is proven
by running generated C under these plans (test_codegen_models)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from c_cases import zoo_intmodel
from tinykws.codegen.lower import lower_op
from tinykws.intmodel.memory import lifetimes, overlap_rules, plan_memory, plan_violations, sliding_min_gap
from tinykws.intmodel.params import geometry
from tinykws.models import model_info, model_names

QUANTIZABLE = [n for n in model_names() if model_info(n).quantizable]


def kernel_scratch(model) -> dict[int, int]:
    return {k: lower_op(model, k).scratch_bytes for k in range(len(model.ops))}


@pytest.fixture(scope="module")
def ds_cnn():
    return zoo_intmodel("ds_cnn")


def test_ds_cnn_arena_is_one_activation_plus_scratch(ds_cnn):
    scratch = kernel_scratch(ds_cnn)
    plan = plan_memory(ds_cnn, scratch)
    activation = 25 * 5 * 64
    # every layer after the first runs in place: one activation, the largest kernel scratch
    # and the 46 B of the input that stick out of the first conv's output (below)
    assert plan.arena_bytes <= activation + max(scratch.values()) + 48
    # without scratch the 490 B input starts inside the first conv's output (mostly in its tail)
    bare = plan_memory(ds_cnn)
    first = bare.offset(ds_cnn.ops[0].outputs[0])
    assert first < bare.offset(ds_cnn.inputs[0]) < first + activation
    assert bare.arena_bytes < activation + 490 // 4
    in_place_kinds = [ds_cnn.ops[op].kind for op, _, _ in plan.in_place]
    assert in_place_kinds.count("depthwise_conv2d") == 4 and in_place_kinds.count("conv2d") >= 4  # pointwise
    assert plan_memory(ds_cnn, scratch, in_place=False).arena_bytes >= 2 * activation
    assert plan.naive_bytes > 9 * activation


@pytest.mark.parametrize("name", QUANTIZABLE)
@pytest.mark.parametrize("in_place", [True, False])
def test_zoo_plans_have_no_overlapping_live_tensors(name, in_place):
    model = zoo_intmodel(name)
    plan = plan_memory(model, kernel_scratch(model), in_place=in_place)
    assert plan_violations(model, plan, in_place=in_place) == []
    assert plan.arena_bytes <= plan.naive_bytes + sum(kernel_scratch(model).values())
    if not in_place:  # every pair of tensors live at once is disjoint
        for k in range(len(model.ops)):
            live = sorted((p.offset, p.offset + p.nbytes) for p in plan.live_at(k))
            assert all(a[1] <= b[0] for a, b in zip(live, live[1:]))


def test_a_bad_plan_is_caught(ds_cnn):
    plan = plan_memory(ds_cnn, kernel_scratch(ds_cnn))
    first_conv_out = ds_cnn.ops[0].outputs[0]
    pool_out = ds_cnn.ops[9].outputs[0]
    # the pooled vector moved onto its still-live input
    moved = tuple(replace(p, offset=plan.offset(first_conv_out)) if p.tensor == pool_out else p
                  for p in plan.placements)
    problems = plan_violations(ds_cnn, replace(plan, placements=moved))
    assert any("overlap while both are live" in p for p in problems)
    # a depthwise output shifted by one word against its input: not the exact in-place layout
    dw = ds_cnn.ops[1]
    shifted = tuple(replace(p, offset=p.offset + 4) if p.tensor == dw.outputs[0] else p for p in plan.placements)
    assert plan_violations(ds_cnn, replace(plan, placements=shifted, arena_bytes=plan.arena_bytes + 4))
    # scratch on top of a live tensor
    bad_scratch = list(plan.scratch_offsets)
    bad_scratch[2] = plan.offset(dw.outputs[0])
    assert plan_violations(ds_cnn, replace(plan, scratch_offsets=tuple(bad_scratch)))


def test_lifetimes_and_reshape_alias(ds_cnn):
    spans = lifetimes(ds_cnn)
    last = len(ds_cnn.ops) - 1
    assert spans[ds_cnn.inputs[0]] == (0, 0)
    assert spans[ds_cnn.outputs[0]] == (last, last)
    reshape = next(k for k, op in enumerate(ds_cnn.ops) if op.kind == "reshape")
    rule = overlap_rules(ds_cnn, reshape)[0]
    assert rule.alias
    plan = plan_memory(ds_cnn)
    assert plan.offset(rule.input) == plan.offset(rule.output)


def test_sliding_gap_of_a_small_conv():
    # 3x1 window, SAME, on 4 rows of 1 channel, 2 output channels. Output pixel q is written
    # after its window is read; pixels 0..3 read from rows 0, 0, 1, 2 on. Writing pixel q
    # ends 2 (q + 1) bytes into the output: the output must start max(2 - 0, 4 - 0, 6 - 1,
    # 8 - 2) = 6 bytes before the input.
    g = geometry(4, 1, 3, 1, 1, 1, "SAME")
    assert sliding_min_gap(g, 4, 1, 1, 2) == 6
    # stride 2 (SAME pads only the bottom): pixels 0, 1 read from rows 0, 2 on: max(2 - 0, 4 - 2)
    g2 = geometry(4, 1, 3, 1, 2, 1, "SAME")
    assert g2.pad_top == 0 and sliding_min_gap(g2, 4, 1, 1, 2) == 2


def test_in_place_needs_the_last_use(ds_cnn):
    # make the first depthwise's input also a model output: it must keep its bytes
    dw_in = ds_cnn.ops[1].inputs[0]
    model = replace(ds_cnn, outputs=(*ds_cnn.outputs, dw_in))
    plan = plan_memory(model, kernel_scratch(model))
    assert all(op != 1 for op, _, _ in plan.in_place)
    assert plan_violations(model, plan) == []
