"""The Cortex-M platform on qemu: start-up code, semihosting, exit status, the -icount
instruction counter (exact against hand-counted assembly and against an execution trace),
stack measurement, and clear errors for a hang, a crash and a program that does not fit."""

from __future__ import annotations

import numpy as np
import pytest

from tinykws.errors import TargetError
from tinykws.mcu.boards import QEMU_BOARDS, get_board
from tinykws.mcu.firmware import CProject, build_firmware
from tinykws.mcu.harness import run_harness
from tinykws.mcu.qemu import run_elf
from tinykws.mcu.trace import trace_count

pytestmark = pytest.mark.mcu

M4 = get_board("mps2-an386")


def _loop_inputs(ns) -> np.ndarray:
    return np.asarray(ns, dtype="<u4").view(np.int8).reshape(-1, 4)


def test_exit_status_and_semihosting_output(toolchain, programs, tmp_path):
    fw = build_firmware(CProject.from_dir(programs / "hello"), M4, tmp_path, main="project")
    run = run_elf(fw.elf, M4, timeout_s=30)
    assert run.exit_code == 42
    assert run.stdout == "hello from the board\n4294967295\n"


@pytest.mark.parametrize("board", sorted(QEMU_BOARDS))
def test_calibrated_loop_counts_exactly(toolchain, programs, tmp_path, board):
    # tkws_invoke of programs/loop is hand-written assembly of exactly 2N + 3 instructions.
    fw = build_firmware(CProject.from_dir(programs / "loop"), get_board(board), tmp_path)
    ns = np.array([1, 2, 10, 1000, 100000])
    first = run_harness(fw, _loop_inputs(ns), input_bytes=4)
    again = run_harness(fw, _loop_inputs(ns), input_bytes=4)
    assert first.instructions.tolist() == (2 * ns + 3).tolist()
    assert np.array_equal(first.instructions, again.instructions)
    assert first.calibration == again.calibration
    assert first.status.tolist() == [0] * len(ns)
    assert first.stack_bytes.tolist() == [0] * len(ns)  # a naked function touches no stack


def test_an_inference_longer_than_the_counter_is_an_error(toolchain, programs, tmp_path):
    # 2^32 ticks of 40 ns are 671,088,640 instructions of 256 ns: a longer call must not wrap silently.
    fw = build_firmware(CProject.from_dir(programs / "loop"), M4, tmp_path)
    with pytest.raises(TargetError, match="more than 2\\^32 counter ticks"):
        run_harness(fw, _loop_inputs([1000, 336_000_000]), input_bytes=4)


def test_icount_agrees_with_the_execution_trace(toolchain, programs, tmp_path):
    # Two independent counts of the same calls: the timer under -icount (harness) and one
    # trace line per executed instruction without -icount (trace), attributed by symbols.
    fw = build_firmware(CProject.from_dir(programs / "dense"), M4, tmp_path / "fw")
    inputs = np.random.default_rng(1).integers(-128, 128, size=(3, 64), dtype=np.int8)
    measured = run_harness(fw, inputs, input_bytes=64)
    run_dir = tmp_path / "trace"
    run_dir.mkdir()
    (run_dir / "tkws_in.bin").write_bytes(inputs.tobytes())
    traced = trace_count(fw.elf, M4, watch=["tkws_invoke", "tkws_null_invoke"], cwd=run_dir)
    assert traced.exit_code == 0
    assert traced.calls["tkws_null_invoke"] == (2,)  # the harness's NULL_CALL_INSTRUCTIONS
    assert list(traced.calls["tkws_invoke"]) == measured.instructions.tolist()
    # dense() is inlined: the flat attribution puts nearly all of it in tkws_invoke.
    assert traced.per_function["tkws_invoke"] > 0.99 * measured.instructions.sum()


def _dense_reference(x: np.ndarray) -> np.ndarray:
    """numpy twin of programs/dense/model.c."""

    def dense(v, n_out, a, b, lo):
        o = np.arange(n_out)[:, None]
        i = np.arange(v.shape[1])[None, :]
        w = (o * a + i * b) % 17 - 8
        acc = v.astype(np.int64) @ w.T + (np.arange(n_out) * 3 - 40)
        return np.clip(np.maximum(acc >> 6, lo), -128, 127).astype(np.int8)

    return dense(dense(x, 32, 7, 13, 0), 8, 5, 11, -128)


def test_c_program_outputs_layers_and_stack(toolchain, programs, tmp_path):
    inputs = np.random.default_rng(0).integers(-128, 128, size=(20, 64), dtype=np.int8)
    project = CProject.from_dir(programs / "dense")
    plain = run_harness(build_firmware(project, M4, tmp_path / "plain"), inputs, input_bytes=64)
    hooked = run_harness(build_firmware(project, M4, tmp_path / "hooked", profile_layers=True),
                         inputs, input_bytes=64)
    expected = _dense_reference(inputs)
    assert np.array_equal(plain.outputs, expected)
    assert np.array_equal(hooked.outputs, expected)
    assert hooked.layer_instructions.shape == (20, 2)
    assert np.all(hooked.layer_instructions > 0)
    # The first layer has 4x the MACs of the second; the layers are most of the inference.
    assert np.all(hooked.layer_instructions[:, 0] > 3 * hooked.layer_instructions[:, 1])
    assert np.all(hooked.layer_instructions.sum(axis=1) <= hooked.instructions)
    assert np.all(hooked.layer_instructions.sum(axis=1) > 0.95 * plain.instructions)
    assert np.all(plain.stack_bytes > 0) and plain.stack_peak_bytes < plain.stack_reserved_bytes


def test_embedded_inputs_give_the_same_results(toolchain, programs, tmp_path):
    inputs = np.random.default_rng(2).integers(-128, 128, size=(4, 64), dtype=np.int8)
    project = CProject.from_dir(programs / "dense")
    from_file = run_harness(build_firmware(project, M4, tmp_path / "file"), inputs, input_bytes=64)
    fw = build_firmware(project, M4, tmp_path / "embedded", embedded_inputs=inputs, input_bytes=64)
    embedded = run_harness(fw, None, input_bytes=64)
    assert np.array_equal(embedded.outputs, from_file.outputs)
    assert np.array_equal(embedded.instructions, from_file.instructions)


def test_a_hang_is_an_error_naming_the_elf_and_board(toolchain, programs, tmp_path):
    fw = build_firmware(CProject.from_dir(programs / "hang"), M4, tmp_path, main="project")
    with pytest.raises(TargetError, match=r"firmware\.elf did not finish on mps2-an386 within 1 s"):
        run_elf(fw.elf, M4, timeout_s=1)


def test_a_fault_is_reported(toolchain, programs, tmp_path):
    fw = build_firmware(CProject.from_dir(programs / "fault"), M4, tmp_path, main="project")
    with pytest.raises(TargetError, match="crashed on mps2-an386: tkws: fault at pc="):
        run_elf(fw.elf, M4, timeout_s=30)


def test_an_arena_too_big_for_the_board_is_refused(toolchain, programs, tmp_path):
    pico = get_board("rpi-pico")  # 264 KiB of RAM
    big = CProject.from_dir(programs / "dense")
    big = CProject(big.sources, big.include_dirs, arena_bytes=300 * 1024)
    with pytest.raises(TargetError, match="arena of 307,200 B does not fit board rpi-pico"):
        build_firmware(big, pico, tmp_path / "declared")
    # An arena the project does not declare is caught by the linker, as clearly.
    source = tmp_path / "big_arena.c"
    source.write_text("#include <stdint.h>\nstatic volatile int8_t arena[300 * 1024];\n"
                      "int main(void) { arena[0] = 1; return arena[0]; }\n")
    undeclared = CProject(sources=(source,), include_dirs=())
    with pytest.raises(TargetError, match=r"does not fit board rpi-pico .*RAM overflowed by"):
        build_firmware(undeclared, pico, tmp_path / "linked", main="project")


def test_real_board_cannot_run_under_qemu(toolchain, programs, tmp_path):
    fw = build_firmware(CProject.from_dir(programs / "hello"), get_board("nucleo-l4r5zi"), tmp_path, main="project")
    assert fw.sizes.text > 0
    with pytest.raises(TargetError, match="nucleo-l4r5zi is a real board"):
        run_elf(fw.elf, fw.board)


def test_run_c_qemu_batches_and_splits(toolchain, programs):
    from tinykws.mcu.runner import QemuModel, run_c_qemu

    inputs = np.random.default_rng(3).integers(-128, 128, size=(50, 64), dtype=np.int8)
    outputs, instructions = run_c_qemu(programs / "dense", inputs)
    assert np.array_equal(outputs, _dense_reference(inputs))
    assert instructions.shape == (50,) and np.all(instructions > 64 * 32)
    split = QemuModel(programs / "dense", "mps2-an386", jobs=3).run(inputs)
    assert np.array_equal(split.outputs, outputs) and np.array_equal(split.instructions, instructions)
    with pytest.raises(TargetError, match="inputs have 63 bytes each, the model takes 64"):
        run_c_qemu(programs / "dense", inputs[:, :63])
