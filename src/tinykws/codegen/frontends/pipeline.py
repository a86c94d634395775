"""`generate_pipeline_example`: one C project that spots a keyword in a built-in clip,
PCM -> front-end (frontend.c) -> network (`generate_project`) -> label.

The project is the network's (its Makefile, manifest and library), with the front-end as
extra library files and a main.c that runs the whole decision; its exit status is 0 when
the label is the one tinykws' numpy pipeline gives for the clip (numpy front-end,
`tinykws.intmodel.quantize`, numpy integer runtime). `tinykws codegen --frontend` writes
this project.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tinykws.audio.frontends import Frontend
from tinykws.codegen.cformat import c_array, c_comment, c_string
from tinykws.codegen.frontends.generate import (
    HEADER_NAME,
    SOURCE_NAME,
    FrontendCodegenResult,
    render_frontend,
    resolve_frontend,
)
from tinykws.codegen.fit import MemoryBudget, PartCost
from tinykws.codegen.lower import DSP_BLOCK_PIXELS
from tinykws.codegen.project import CodegenResult, generate_project, numpy_outputs
from tinykws.errors import ConfigError
from tinykws.intmodel.graph import IntModel
from tinykws.intmodel.quantize_io import quantize


@dataclass(frozen=True)
class PipelineExample:
    """The project written, its front-end, and what tinykws' numpy pipeline gives for the clip."""

    project: CodegenResult
    frontend: FrontendCodegenResult
    labels: tuple[str, ...] | None
    features: np.ndarray  # int8 network input from the numpy front-end, (frames, features)
    expected_output: np.ndarray  # int8 network output, (output bytes,)

    @property
    def expected_index(self) -> int:
        """Index of the top score (the first one on ties, as numpy's argmax and main.c)."""
        return int(np.argmax(self.expected_output))

    @property
    def expected_label(self) -> str | None:
        return self.labels[self.expected_index] if self.labels else None


def seeded_clip(samples: int, seed: int = 0) -> np.ndarray:
    """A reproducible clip of `samples` int16 PCM when no recording is given: Gaussian
    noise with a standard deviation of 0.05 of full scale (numpy default_rng(seed))."""
    noise = np.random.default_rng(seed).normal(0.0, 0.05 * 32768, size=samples)
    return np.clip(np.rint(noise), -32768, 32767).astype(np.int16)


def example_clip(path: str | os.PathLike | None, frontend: Frontend, seed: int = 0) -> tuple[np.ndarray, str]:
    """(int16 PCM, description) of the clip an example or a profile runs: the audio file at
    `path` read as tinykws reads audio (mono, the front-end's rate, cut or zero-padded to
    its clip length, then s = round(x * 32768)), or `seeded_clip` when `path` is None."""
    if path is None:
        return seeded_clip(frontend.clip_samples, seed), f"seeded noise (default_rng({seed}), sigma 0.05 full scale)"
    from tinykws.audio.frontends.microfrontend import float_to_int16
    from tinykws.audio.io import load_audio

    floats = load_audio(path, sample_rate=frontend.sample_rate, length=frontend.clip_samples)
    return float_to_int16(floats), Path(path).name


def _check_model(model: IntModel, frontend: Frontend) -> None:
    if len(model.input_tensors) != 1:
        raise ConfigError(f"the pipeline example needs a network with one input, this one has {len(model.inputs)}")
    tensor = model.input_tensors[0]
    frames, features = frontend.output_shape
    if np.dtype(tensor.dtype) != np.int8 or tensor.scale is None:
        raise ConfigError(f"network input {tensor.name!r} must be int8 with a scale, got {np.dtype(tensor.dtype).name}")
    if tensor.nbytes != frames * features:
        raise ConfigError(f"the {frontend.kind} front-end gives {frames}x{features} features but the network input "
                          f"{tensor.name!r} has shape {tuple(tensor.shape)}")


def _clip_pcm(clip: np.ndarray, clip_samples: int) -> np.ndarray:
    pcm = np.asarray(clip)
    if pcm.dtype != np.int16 or pcm.ndim != 1:
        raise ConfigError(f"the example clip must be 1-D int16 PCM, got {pcm.dtype} {pcm.shape}")
    return np.pad(pcm[:clip_samples], (0, max(0, clip_samples - len(pcm))))


def pipeline_main(name: str, pcm: np.ndarray, expected: np.ndarray, labels: Sequence[str] | None,
                  what: str) -> str:
    """main.c of the pipeline example (see the module docstring)."""
    label_table = (
        [f"static const char *const keyword_labels[{len(labels)}] = {{{', '.join(c_string(x) for x in labels)}}};",
         f"#define KEYWORD_LABELS {len(labels)}"]
        if labels else
        ["#ifdef TKWS_LABELS", "static const char *const keyword_labels[TKWS_NUM_LABELS] = TKWS_LABELS;",
         "#define KEYWORD_LABELS TKWS_NUM_LABELS", "#else", "#define KEYWORD_LABELS 0", "#endif"]
    )
    return "\n".join([
        c_comment(f"Example: keyword spotting on one built-in clip ({what}): 16-bit PCM -> tkws_features "
                  "(frontend.c) -> tkws_invoke (the network) -> label. Exit status 0 when the label is the one "
                  "tinykws' numpy pipeline gives; also says whether the network's int8 output is identical."),
        "#include <stdio.h>",
        "#include <string.h>",
        "",
        f'#include "{HEADER_NAME}"',
        f'#include "{name}.h"',
        "",
        "#if TKWS_FEATURES_COUNT != TKWS_INPUT_BYTES",
        '#error "the front-end\'s features do not fill the network input"',
        "#endif",
        "",
        c_array("int16_t", "clip", pcm, comment="the clip: TKWS_FEATURES_CLIP_SAMPLES samples of 16-bit PCM"),
        "",
        c_array("int8_t", "expected_output", expected, comment="the network output of tinykws' numpy pipeline"),
        "",
        *label_table,
        "",
        "static int top(const int8_t *scores)",
        "{",
        "    int i, best = 0;",
        "    for (i = 1; i < TKWS_OUTPUT_BYTES; ++i) {",
        "        if (scores[i] > scores[best]) best = i;",
        "    }",
        "    return best;",
        "}",
        "",
        "int main(void)",
        "{",
        "    static int8_t features[TKWS_FEATURES_COUNT];",
        "    static int8_t output[TKWS_OUTPUT_BYTES];",
        '    const char *label = "(no label)";',
        "    int best;",
        "",
        "    if (tkws_features(clip, TKWS_FEATURES_CLIP_SAMPLES, features) != 0 || tkws_invoke(features, output) != 0) {",
        '        printf("the front-end or the network failed\\n");',
        "        return 2;",
        "    }",
        "    best = top(output);",
        "#if KEYWORD_LABELS > 0",
        "    if (best < KEYWORD_LABELS) label = keyword_labels[best];",
        "#endif",
        '    printf("keyword: %s (index %d, score %d)\\n", label, best, output[best]);',
        '    printf("network output %s tinykws\' numpy pipeline\\n",',
        '           memcmp(output, expected_output, TKWS_OUTPUT_BYTES) == 0 ? "identical to" : "differs from");',
        "    return best == top(expected_output) ? 0 : 1;",
        "}",
        "",
    ])


def generate_pipeline_example(
    model: IntModel,
    frontend: str | Mapping[str, Any] | Frontend,
    out_dir: str | os.PathLike,
    clip: np.ndarray,
    *,
    labels: Sequence[str] | None = None,
    name: str = "model",
    clip_description: str = "a clip given to the generator",
    in_place: bool = True,
    block_pixels: int = DSP_BLOCK_PIXELS,
    budget: MemoryBudget | None = None,
) -> PipelineExample:
    """Write the network `model` with the front-end `frontend` and a main.c that classifies
    `clip` (int16 PCM at the front-end's rate, cut or zero-padded to its clip length).

    The front-end writes the network input directly, quantized with the network's input
    scale and zero point. `labels` name the outputs (default: the model's own, if any).
    `in_place`, `block_pixels` and `budget` are generate_project's; the budget counts the
    front-end's RAM and tables too. Raises ConfigError when the front-end's features do not
    fit the network input, TargetError when the project does not fit `budget` (then
    nothing is written).
    """
    fe = resolve_frontend(frontend)
    _check_model(model, fe)
    tensor = model.input_tensors[0]
    out = Path(out_dir)
    # The front-end's files are written with the project's, all or nothing.
    frontend_files, front = render_frontend(fe, out, input_quant=(float(tensor.scale), int(tensor.zero_point)))
    pcm = _clip_pcm(clip, fe.clip_samples)
    floats = (pcm.astype(np.float32) / np.float32(32768))[None]
    features = quantize(fe.compute_batch(floats), tensor)[0]
    expected = numpy_outputs(model, features.reshape(1, -1))[0]
    names = tuple(labels) if labels is not None else tuple((model.metadata or {}).get("labels") or ()) or None
    if names is not None and len(names) != expected.size:
        raise ConfigError(f"{len(names)} labels given for a network with {expected.size} outputs")
    main_c = pipeline_main(name, pcm, expected, names, clip_description)
    project = generate_project(
        model, out, name=name, extra_files=frontend_files,
        example_input=features.reshape(-1),
        example_description=f"the numpy front-end's features of {clip_description}",
        example_main_c=main_c, in_place=in_place, block_pixels=block_pixels, budget=budget,
        parts=(PartCost(f"{front.kind} front-end", front.ram_bytes, front.table_bytes),),
        manifest_extra={"frontend_c": _frontend_facts(front), "example": {
            "what": "PCM -> tkws_features -> tkws_invoke -> label", "clip": clip_description,
            "expected_index": int(np.argmax(expected)),
            "expected_label": names[int(np.argmax(expected))] if names else None}},
    )
    return PipelineExample(project, front, names, features, expected)


def _frontend_facts(front: FrontendCodegenResult) -> dict[str, Any]:
    return {
        "files": [HEADER_NAME, SOURCE_NAME], "kind": front.kind, "config": front.frontend,
        "api": "int tkws_features(const int16_t *pcm, int n_samples, int8_t *features_out); "
               "TKWS_FEATURES_COUNT int8 values, quantized as the network input; returns 0",
        "clip_samples": front.clip_samples, "sample_rate": front.sample_rate,
        "output_shape": list(front.output_shape), "input_scale": front.input_scale,
        "input_zero_point": front.input_zero_point, "table_bytes": front.table_bytes,
        "state_bytes": front.state_bytes, "scratch_bytes": front.scratch_bytes,
    }
