"""Write the seed corpus of every fuzz target into fuzz/corpus/<target>/ from small files
that tinykws itself makes (a quantized model exported to .tflite, one graph per operator
kind, short audio files in each format, recipes, a checkpoint). Deterministic but for the
OGG serial number and the float WAV PEAK timestamp that libsndfile writes.

    PYTHONPATH=src python fuzz/make_seeds.py
"""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _write(target: str, name: str, data: bytes) -> None:
    folder = HERE / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def tflite_seeds() -> None:
    import tempfile

    import torch

    from tinykws.data.labels import MLPERF_LABELS
    from tinykws.export import export_tflite
    from tinykws.models import build_model
    from tinykws.quant import quantize_ptq

    torch.manual_seed(0)
    model = build_model("tiny_conv", num_classes=12, input_shape=(49, 10), filters=4).eval()
    calib = np.random.default_rng(0).normal(0, 1, (16, 49, 10)).astype(np.float32)
    qmodel = quantize_ptq(model, calib)
    from tinykws.audio.frontends import build_frontend

    with tempfile.TemporaryDirectory() as tmp:
        out = export_tflite(qmodel, Path(tmp) / "m.tflite", build_frontend("mlperf_mfcc").to_dict(),
                            list(MLPERF_LABELS), arena=False)
        _write("tflite", "tiny_conv.tflite", out.tflite_path.read_bytes())
        for name, data in _gated_zoo_models(Path(tmp)).items():
            _write("tflite", f"{name}.tflite", data)
    for name, data in {**_operator_graphs(), **_gated_operator_graphs()}.items():
        _write("tflite", f"op_{name}.tflite", data)


def _gated_zoo_models(tmp: Path) -> dict[str, bytes]:
    """Zoo models, shrunk to a few KB, whose int8 graphs hold the gated and recurrent
    operators (LOGISTIC, TANH, MUL, SUB, SPLIT, BATCH_MATMUL), with random weights."""
    import torch

    from tinykws.export import export_tflite
    from tinykws.models import build_model
    from tinykws.quant import quantize_ptq

    # bc_resnet_1 is left out: 140 operators make a 100 KB file whose gated part (SiLU,
    # LOGISTIC then MUL) op_silu holds.
    shrunk = {"crnn_gru_att": dict(input_shape=(10, 10), hidden=4, attention=2, conv_channels=2, time_stride=5)}
    models = {}
    for name, kwargs in shrunk.items():
        torch.manual_seed(0)
        model = build_model(name, num_classes=3, **kwargs).eval()
        calib = np.random.default_rng(0).normal(0, 3, (6, *kwargs["input_shape"])).astype(np.float32)
        out = export_tflite(quantize_ptq(model, calib), tmp / f"{name}.tflite", {"kind": "seed"},
                            ["a", "b", "c"], arena=False)
        models[name] = out.tflite_path.read_bytes()
    return models


def _operator_graphs() -> dict[str, bytes]:
    """One small int8 graph per operator kind the importer knows."""
    from tinykws.formats.tflite_builder import TFLiteGraphBuilder

    rng = np.random.default_rng(1)
    graphs = {}

    def new(shape=(1, 4, 4, 2)):
        b = TFLiteGraphBuilder()
        return b, b.tensor(shape, scale=0.05, zero_point=-3)

    b, x = new()
    w = b.tensor((3, 3, 3, 2), data=rng.integers(-127, 128, (3, 3, 3, 2)), scale=[0.01, 0.02, 0.03],
                 quantized_dimension=0)
    bias = b.tensor((3,), np.int32, data=rng.integers(-500, 500, 3), scale=[5e-4, 1e-3, 1.5e-3])
    y = b.tensor((1, 4, 4, 3), scale=0.1, zero_point=2)
    b.operator("CONV_2D", [x, w, bias], [y], version=3, padding="SAME", stride_h=1, stride_w=1,
               fused_activation_function="RELU")
    graphs["conv"] = b.to_bytes([x], [y])

    b, x = new()
    w = b.tensor((1, 3, 3, 4), data=rng.integers(-127, 128, (1, 3, 3, 4)), scale=[0.01] * 4, quantized_dimension=3)
    y = b.tensor((1, 2, 2, 4), scale=0.1, zero_point=0)
    b.operator("DEPTHWISE_CONV_2D", [x, w, -1], [y], version=3, padding="VALID", stride_h=1, stride_w=1,
               depth_multiplier=2, fused_activation_function="RELU6")
    graphs["depthwise"] = b.to_bytes([x], [y])

    b, x = new((1, 8))
    w = b.tensor((5, 8), data=rng.integers(-127, 128, (5, 8)), scale=0.02)
    y = b.tensor((1, 5), scale=0.2, zero_point=-1)
    s = b.tensor((1, 5), scale=1 / 256, zero_point=-128)
    b.operator("FULLY_CONNECTED", [x, w, -1], [y], version=4)
    b.operator("SOFTMAX", [y], [s], version=2, beta=1.0)
    graphs["fc_softmax"] = b.to_bytes([x], [s])

    for kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        b, x = new()
        y = b.tensor((1, 2, 2, 2), scale=0.05, zero_point=-3)
        b.operator(kind, [x], [y], padding="VALID", stride_h=2, stride_w=2, filter_height=2, filter_width=2)
        graphs[kind.lower()] = b.to_bytes([x], [y])

    b, x = new()
    axes = b.tensor((2,), np.int32, data=[1, 2])
    y = b.tensor((1, 1, 1, 2), scale=0.04, zero_point=1)
    b.operator("MEAN", [x, axes], [y], version=2, keep_dims=True)
    graphs["mean"] = b.to_bytes([x], [y])

    b, x = new()
    x2 = b.tensor((1, 4, 4, 2), scale=0.07, zero_point=5)
    y = b.tensor((1, 4, 4, 2), scale=0.1, zero_point=-2)
    b.operator("ADD", [x, x2], [y], version=2, fused_activation_function="NONE")
    graphs["add"] = b.to_bytes([x, x2], [y])

    b, x = new()
    r = b.tensor((1, 4, 4, 2), scale=0.05, zero_point=-128)
    q = b.tensor((1, 4, 4, 2), scale=0.03, zero_point=4)
    flat = b.tensor((1, 32), scale=0.03, zero_point=4)
    b.operator("RELU", [x], [r])
    b.operator("QUANTIZE", [r], [q])
    b.operator("RESHAPE", [q], [flat])
    graphs["relu_quantize_reshape"] = b.to_bytes([x], [flat])

    b, x = new()
    pads = b.tensor((4, 2), np.int32, data=[[0, 0], [1, 1], [0, 2], [0, 0]])
    y = b.tensor((1, 6, 6, 2), scale=0.05, zero_point=-3)
    z = b.tensor((1, 6, 6, 4), scale=0.05, zero_point=-3)
    b.operator("PAD", [x, pads], [y])
    b.operator("CONCATENATION", [y, y], [z], axis=-1, fused_activation_function="NONE")
    graphs["pad_concat"] = b.to_bytes([x], [z])
    return graphs


def _gated_operator_graphs() -> dict[str, bytes]:
    """One small int8 graph per gated or recurrent operator kind, plus a GRU-like cell."""
    from tinykws.formats.tflite_builder import TFLiteGraphBuilder

    graphs = {}
    for kind, out_q in (("LOGISTIC", (1 / 256, -128)), ("TANH", (1 / 128, 0))):
        b = TFLiteGraphBuilder()
        x = b.tensor((1, 16), scale=0.05, zero_point=-3)
        y = b.tensor((1, 16), scale=out_q[0], zero_point=out_q[1])
        b.operator(kind, [x], [y])
        graphs[kind.lower()] = b.to_bytes([x], [y])

    for kind, activation in (("MUL", "NONE"), ("SUB", "RELU")):
        b = TFLiteGraphBuilder()
        x1 = b.tensor((1, 3, 2, 4), scale=0.05, zero_point=-3)
        x2 = b.tensor((1, 1, 2, 4), scale=0.02, zero_point=7)
        y = b.tensor((1, 3, 2, 4), scale=0.08, zero_point=1)
        b.operator(kind, [x1, x2], [y], version=2, fused_activation_function=activation)
        graphs[kind.lower()] = b.to_bytes([x1, x2], [y])

    # SPLIT into three steps, attention weights times the steps (BATCH_MATMUL).
    b = TFLiteGraphBuilder()
    x = b.tensor((1, 3, 4), scale=0.03, zero_point=4)
    axis = b.tensor((1,), np.int32, data=np.array([1], np.int32))
    steps = [b.tensor((1, 1, 4), scale=0.03, zero_point=4) for _ in range(3)]
    b.operator("SPLIT", [axis, x], steps, version=2, num_splits=3)
    lhs = b.tensor((1, 1, 3), scale=1 / 256, zero_point=-128)
    y = b.tensor((1, 1, 4), scale=0.02, zero_point=-2)
    b.operator("BATCH_MATMUL", [lhs, x], [y], version=1, adj_x=False, adj_y=False)
    graphs["split_batch_matmul"] = b.to_bytes([x, lhs], [*steps, y])

    # SiLU as BC-ResNet exports it: x * logistic(x).
    b = TFLiteGraphBuilder()
    x = b.tensor((1, 2, 4, 3), scale=0.05, zero_point=-3)
    z = b.tensor((1, 2, 4, 3), scale=1 / 256, zero_point=-128)
    y = b.tensor((1, 2, 4, 3), scale=0.04, zero_point=-20)
    b.operator("LOGISTIC", [x], [z])
    b.operator("MUL", [x, z], [y], version=2, fused_activation_function="NONE")
    graphs["silu"] = b.to_bytes([x], [y])

    # A GRU-like update h' = h + z * (tanh(x) - h), z = logistic(x).
    b = TFLiteGraphBuilder()
    x = b.tensor((1, 6), scale=0.05, zero_point=-3)
    h = b.tensor((1, 6), scale=1 / 128, zero_point=0)
    z = b.tensor((1, 6), scale=1 / 256, zero_point=-128)
    c = b.tensor((1, 6), scale=1 / 128, zero_point=0)
    d = b.tensor((1, 6), scale=1 / 64, zero_point=0)
    zd = b.tensor((1, 6), scale=1 / 64, zero_point=0)
    out = b.tensor((1, 6), scale=1 / 64, zero_point=0)
    b.operator("LOGISTIC", [x], [z])
    b.operator("TANH", [x], [c])
    b.operator("SUB", [c, h], [d], version=2, fused_activation_function="NONE")
    b.operator("MUL", [z, d], [zd], version=2, fused_activation_function="NONE")
    b.operator("ADD", [h, zd], [out], version=2, fused_activation_function="NONE")
    graphs["gru_cell"] = b.to_bytes([x, h], [out])
    return graphs


def audio_seeds() -> None:
    import soundfile as sf

    t = np.arange(4000) / 16000
    chirp = (0.5 * np.sin(2 * np.pi * (300 + 2000 * t) * t)).astype(np.float32)
    cases = [(".wav", "PCM_16", 16000, chirp), (".flac", "PCM_16", 16000, chirp),
             (".ogg", "VORBIS", 16000, chirp), (".aiff", "PCM_16", 16000, chirp),
             (".wav", "FLOAT", 22050, np.stack([chirp, -chirp], 1)), (".wav", "PCM_U8", 8000, chirp[:2000])]
    from targets import AUDIO_SUFFIXES, FRONTENDS

    for n, (suffix, subtype, rate, samples) in enumerate(cases):
        buffer = io.BytesIO()
        fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".aiff": "AIFF"}[suffix]
        sf.write(buffer, samples, rate, subtype=subtype, format=fmt)
        head = bytes([AUDIO_SUFFIXES.index(suffix), n % len(FRONTENDS)])
        _write("audio", f"{n}_{subtype.lower()}{suffix}", head + buffer.getvalue())


def recipe_seeds() -> None:
    from tinykws.train.config import RunConfig
    from tinykws.train.recipe import config_to_yaml

    _write("recipe", "defaults.yaml", config_to_yaml(RunConfig()).encode())
    _write("recipe", "small.yaml", (
        "name: small\nmodel: {name: ds_cnn, kwargs: {}}\noptim: {name: adamw, lr: 1e-3}\n"
        "schedule: {name: cosine, warmup_epochs: 1}\ntrain: {epochs: 2, batch_size: 16}\n"
        "data:\n  sources:\n    - {path: data, weight: 2}\n  augment: {background_frequency: 0.5}\n"
        "#set train.epochs=3\n").encode())
    _write("recipe", "anchors.yaml", b"base: &b {lr: 0.001}\noptim: *b\ndistill: {teacher: t.pt, alpha: 0.3}\n")


def checkpoint_seeds() -> None:
    import torch

    from tinykws.audio.frontends import build_frontend
    from tinykws.models import build_model
    from tinykws.train.checkpoint import Checkpoint

    torch.manual_seed(0)
    model = build_model("tiny_conv", num_classes=3, input_shape=(49, 10), filters=2)
    ckpt = Checkpoint("tiny_conv", {k: v for k, v in model.model_kwargs.items() if k != "num_classes"}, 3,
                      model.state_dict(), build_frontend("mlperf_mfcc").to_dict(), ["yes", "no", "up"])
    buffer = io.BytesIO()
    torch.save(ckpt.to_payload(), buffer)
    _write("checkpoint", "tiny_conv.pt", b"\0" + buffer.getvalue())
    for n, (field, kind) in enumerate([(0, 0), (3, 1), (5, 2), (7, 3), (9, 4), (11, 6), (14, 1)]):
        _write("checkpoint", f"forged_{n}", bytes([1, field, kind]) + b"seed-" + bytes([n]))


def main() -> None:
    shutil.rmtree(HERE / "corpus", ignore_errors=True)
    tflite_seeds()
    audio_seeds()
    recipe_seeds()
    checkpoint_seeds()
    for folder in sorted((HERE / "corpus").iterdir()):
        files = list(folder.iterdir())
        print(f"{folder.name:<12} {len(files):>3} seeds, {sum(f.stat().st_size for f in files):>8,} bytes")


if __name__ == "__main__":
    main()
