"""Layer 8: C code generation. The integer network becomes a dependency-free C99 library
(weights and fixed-point parameters as const arrays, one static arena, straight-line op
calls, kernels written by tinykws), and the front-ends become C with tables generated here.

    from tinykws.codegen import generate_project, run_c_host
    project = generate_project(intmodel, "out/kws")      # writes the C project, returns facts
    outputs = run_c_host(project, int8_inputs)            # (N, ...) int8, bit-exact with `run`

The contract of a generated project (firmware builds rely on it; keep it stable):
- files: `<name>.h` / `<name>.c` (default name "model"), the kernels `tkws_*.c` / `tkws_*.h`,
  an example `main.c`, a `Makefile` and `manifest.json`; the library is every .c file but
  main.c (`CodegenResult.sources`), compiled as C99 with the folder on the include path;
- `int tkws_invoke(const int8_t *input, int8_t *output)`: runs one inference; `input` holds
  TKWS_INPUT_BYTES int8 values (all model inputs one after another), `output` receives
  TKWS_OUTPUT_BYTES; returns 0 on success (-1 for a NULL pointer). Not reentrant;
- macros in `<name>.h`: TKWS_ARENA_BYTES (the one static arena: activations and kernel
  scratch), TKWS_SCRATCH_BYTES, TKWS_INPUT_BYTES, TKWS_OUTPUT_BYTES, TKWS_NUM_LAYERS,
  TKWS_MACS, TKWS_INPUT_SCALE / _ZERO_POINT / _SHAPE, TKWS_OUTPUT_SCALE / _ZERO_POINT /
  _SHAPE, TKWS_ARITHMETIC, and the initialisers TKWS_LAYER_NAMES, TKWS_LAYER_MACS (and
  TKWS_LABELS, TKWS_NUM_LABELS when the model carries labels);
- profiling hooks: `TKWS_LAYER_BEGIN(i)` and `TKWS_LAYER_END(i)` surround layer i's kernel
  call (i = 0 .. TKWS_NUM_LAYERS - 1, in order, once per inference); they are no-ops
  unless defined before model.c is compiled (e.g. `-include hooks.h`);
- `TKWS_ARENA_ATTRIBUTE` (empty by default) is appended to the arena's definition, e.g. to
  place it in a RAM section;
- kernels use the Cortex-M DSP instructions when `__ARM_FEATURE_DSP` is defined (define
  TKWS_PORTABLE to force plain C; TKWS_EMULATE_DSP runs the DSP path on any host); no heap,
  no libc beyond string.h and stdint.h; -ffunction-sections lets the linker drop unused
  kernels.
"""

from tinykws.codegen.host import CompileError, CompilerNotFoundError, run_c_host
from tinykws.codegen.project import CodegenResult, LayerInfo, generate_project

__all__ = ["CodegenResult", "CompileError", "CompilerNotFoundError", "LayerInfo", "generate_project", "run_c_host"]
