"""The run config: frozen dataclasses, one per concern, read from a YAML recipe.

A recipe mirrors `RunConfig` (sections `data`, `model`, `frontend`, `optim`, `schedule`,
`train`, `distill`); unknown keys and wrong types are errors (tinykws.config.from_dict).
The resolved config is written to the run folder and into every checkpoint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tinykws.errors import ConfigError
from tinykws.train.schedules import ScheduleConfig

OPTIMIZERS = ("adam", "adamw", "sgd")
DATA_LAYOUTS = ("auto", "raw", "folders")
# Sanity bounds: far outside anything that trains, well inside what a typo or a hostile
# recipe would set. A learning rate above MAX_LR diverges for every model in the zoo.
MAX_LR = 10.0
MAX_EPOCHS = 100_000
MAX_BATCH = 1 << 16
RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


def check_range(name: str, value: float, low: float, high: float, low_open: bool = False,
                high_open: bool = False) -> None:
    """ConfigError unless low <= value <= high (with `low_open`/`high_open` excluding an end)."""
    ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ConfigError(f"{name} must be in {left}{low:g}, {high:g}{right}, got {value!r}")


@dataclass(frozen=True)
class DataSourceConfig:
    """One dataset folder in the training mix.

    `weight` is its share of each epoch relative to the other sources (weights need not
    sum to 1): a source with twice the weight gives twice as many clips per epoch,
    sampled with replacement across epochs when it is small.

    `noise`: folders whose audio files replace the source's own `_background_noise_`
    recordings, both for its silence clips and for mixing into its clips (e.g. real noise
    recordings for a synthetic corpus); empty = the source's own.
    """

    path: str
    layout: str = "auto"
    weight: float = 1.0
    noise: tuple[str, ...] = ()

    def validate(self) -> None:
        if self.layout not in DATA_LAYOUTS:
            raise ConfigError(f"data source {self.path}: layout {self.layout!r} is not one of {DATA_LAYOUTS}")
        check_range(f"data source {self.path}: weight", self.weight, 0.0, 1e6, low_open=True)


def _check_range(name: str, values: tuple[float, ...], low: float, high: float) -> None:
    """An optional [lo, hi] range within [low, high] (empty = off)."""
    if not values:
        return
    if len(values) != 2 or not low <= values[0] <= values[1] <= high:
        raise ConfigError(f"{name} must be empty or [lo, hi] with {low} <= lo <= hi <= {high}, got {list(values)}")


@dataclass(frozen=True)
class SpecAugmentConfig:
    """SpecAugment on the model input (frames x features), training batches only:
    `time_masks` masks of up to `time_width` frames and `freq_masks` masks of up to
    `freq_width` features per clip, filled with the clip's mean. 0 masks = off.
    Under data parallelism each rank draws the masks of its own part of the batch: such a
    run is reproducible, but not equal to a single-process run (as it is without masks)."""

    time_masks: int = 0
    time_width: int = 0
    freq_masks: int = 0
    freq_width: int = 0

    def validate(self) -> None:
        for name in ("time_masks", "time_width", "freq_masks", "freq_width"):
            check_range(f"data.augment.specaugment.{name}", getattr(self, name), 0, 10_000)

    @property
    def enabled(self) -> bool:
        return (self.time_masks > 0 and self.time_width > 0) or (self.freq_masks > 0 and self.freq_width > 0)


@dataclass(frozen=True)
class AugmentConfig:
    """Waveform augmentation of training clips (MLPerf Tiny reference values by default).

    Channel options (off by default; see `tinykws.audio.augment.AugmentConfig`):
    `speed_range` [lo, hi] speed factors; `reverb_probability` of convolving with a
    simulated room (`reverb_rooms` rooms with RT60 in `reverb_rt60_s`, drawn once from the
    run seed); `eq_probability` of a random microphone colouring (as many as rooms); `snr_db` [lo, hi]
    replaces the noise volume rule with a signal-to-noise ratio. `specaugment` masks the
    features.
    """

    enabled: bool = True
    background_frequency: float = 0.8
    background_volume: float = 0.1
    time_shift_ms: float = 100.0
    speed_range: tuple[float, ...] = ()
    reverb_probability: float = 0.0
    reverb_rt60_s: tuple[float, ...] = (0.15, 0.8)
    reverb_rooms: int = 100
    eq_probability: float = 0.0
    snr_db: tuple[float, ...] = ()
    specaugment: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)

    def validate(self) -> None:
        for name in ("background_frequency", "reverb_probability", "eq_probability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"data.augment.{name} must be in [0, 1], got {value}")
        _check_range("data.augment.speed_range", self.speed_range, 0.5, 2.0)
        _check_range("data.augment.reverb_rt60_s", self.reverb_rt60_s, 0.01, 5.0)
        _check_range("data.augment.snr_db", self.snr_db, -30.0, 100.0)
        if self.reverb_probability > 0 and (not self.reverb_rt60_s or self.reverb_rooms < 1):
            raise ConfigError("data.augment.reverb_probability > 0 needs reverb_rt60_s and reverb_rooms >= 1")
        check_range("data.augment.background_volume", self.background_volume, 0.0, 1.0)
        check_range("data.augment.time_shift_ms", self.time_shift_ms, 0.0, 1000.0)
        check_range("data.augment.reverb_rooms", self.reverb_rooms, 0, 100_000)
        self.specaugment.validate()


@dataclass(frozen=True)
class DataConfig:
    """Where clips come from.

    `sources` make the training stream; validation clips come from the `validation` split of
    the same folders unless `validation` lists other folders (their `validation` split, or
    all of them for a folder without one). `cache: true` trains on cached features (no
    waveform augmentation); otherwise waveforms are augmented and batched through the
    front-end. `epoch_size` is the number of training clips per epoch (0: the sum of the
    sources' training clips). `silence_percentage` / `unknown_percentage` shape the MLPerf
    12-class view (percent of the training mix).
    """

    sources: tuple[DataSourceConfig, ...] = ()
    validation: tuple[DataSourceConfig, ...] = ()
    cache: bool = False
    cache_dir: str = ""
    epoch_size: int = 0
    silence_percentage: float = 10.0
    unknown_percentage: float = 10.0
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def validate(self) -> None:
        for source in self.sources + self.validation:
            source.validate()
        check_range("data.epoch_size", self.epoch_size, 0, 1e9)
        check_range("data.silence_percentage", self.silence_percentage, 0.0, 100.0)
        check_range("data.unknown_percentage", self.unknown_percentage, 0.0, 100.0)
        if self.silence_percentage + self.unknown_percentage >= 100.0:
            raise ConfigError("data.silence_percentage + data.unknown_percentage must be below 100")
        self.augment.validate()


@dataclass(frozen=True)
class ModelConfig:
    """A registered model name and its constructor's keyword arguments; `init` a tinykws
    checkpoint whose weights start the run ("" = the seeded random initialisation), e.g.
    a trained model to fine-tune or a structurally pruned one."""

    name: str = "ds_cnn"
    kwargs: dict[str, Any] = field(default_factory=dict)
    init: str = ""


@dataclass(frozen=True)
class FrontendConfig:
    """A front-end preset or kind name ("" = the model's default) and field overrides."""

    name: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser and base learning rate (the schedule scales it over time)."""

    name: str = "adam"
    lr: float = 5e-4
    weight_decay: float = 0.0
    momentum: float = 0.9
    nesterov: bool = False
    betas: tuple[float, ...] = (0.9, 0.999)
    eps: float = 1e-8

    def validate(self) -> None:
        if self.name not in OPTIMIZERS:
            raise ConfigError(f"optim.name {self.name!r} is not one of {', '.join(OPTIMIZERS)}")
        check_range("optim.lr", self.lr, 0.0, MAX_LR, low_open=True)
        check_range("optim.weight_decay", self.weight_decay, 0.0, 1.0)
        check_range("optim.momentum", self.momentum, 0.0, 1.0, high_open=True)
        check_range("optim.eps", self.eps, 0.0, 1.0, low_open=True)
        if len(self.betas) != 2:
            raise ConfigError(f"optim.betas needs two values, got {list(self.betas)}")
        for i, beta in enumerate(self.betas):
            check_range(f"optim.betas[{i}]", beta, 0.0, 1.0, high_open=True)


@dataclass(frozen=True)
class TrainConfig:
    """The loop itself.

    `class_weights` (one per label, empty = all 1) weight the cross-entropy;
    `grad_clip_norm` 0 = no clipping; `early_stopping_patience` = epochs without a better
    validation accuracy before stopping (0 = never stop early); `threads` 0 = leave torch's
    setting alone; `freeze_batchnorm` keeps batch-norm layers in eval mode (running
    statistics), which fine-tuning and exact data-parallel equality need. `ema_decay` > 0
    keeps an exponential moving average of the weights (`train.averaging`), which
    validation scores and best.pt holds; 0 = off.
    """

    epochs: int = 36
    batch_size: int = 100
    label_smoothing: float = 0.0
    class_weights: tuple[float, ...] = ()
    grad_clip_norm: float = 0.0
    early_stopping_patience: int = 0
    seed: int = 0
    eval_batch_size: int = 256
    threads: int = 0
    freeze_batchnorm: bool = False
    ema_decay: float = 0.0
    progress: bool = True

    def validate(self) -> None:
        check_range("train.epochs", self.epochs, 1, MAX_EPOCHS)
        check_range("train.batch_size", self.batch_size, 1, MAX_BATCH)
        check_range("train.eval_batch_size", self.eval_batch_size, 1, MAX_BATCH)
        check_range("train.label_smoothing", self.label_smoothing, 0.0, 1.0, high_open=True)
        for i, w in enumerate(self.class_weights):
            check_range(f"train.class_weights[{i}]", w, 0.0, 1e6)
        check_range("train.grad_clip_norm", self.grad_clip_norm, 0.0, 1e9)
        check_range("train.early_stopping_patience", self.early_stopping_patience, 0, MAX_EPOCHS)
        check_range("train.threads", self.threads, 0, 4096)
        check_range("train.ema_decay", self.ema_decay, 0.0, 1.0, high_open=True)


@dataclass(frozen=True)
class DistillConfig:
    """Knowledge distillation from a teacher ("" = off): a tinykws checkpoint (.pt) or a
    float .tflite (imported into zoo model `tflite_model`, fed by `tflite_frontend`, default
    that model's front-end), or a list of them, an ensemble whose target is the mean of its
    members' log-probabilities (their normalised geometric mean). Loss = (1 - alpha) * CE + alpha * T^2 * KL(teacher_T || student_T)
    + attention * KL(teacher attention || student attention), the last summed over time for
    models with attention pooling (crnn_gru_att; the teacher must be a tinykws checkpoint
    of such a model; its frames are pooled onto a time-strided student's steps).

    Teacher-only inputs (waveform training): `mix_share` of each batch is replaced by
    mixtures of two of its clips and `crop_share` by cut-off parts of its clips; these have
    no label, and only the teacher's view of them is learnt (loss alpha * T^2 * KL). Under
    data parallelism they are drawn per rank, from that rank's part of the batch."""

    teacher: str | tuple[str, ...] = ""
    tflite_model: str = "ds_cnn"
    tflite_frontend: str = ""
    alpha: float = 0.5
    temperature: float = 4.0
    attention: float = 0.0
    mix_share: float = 0.0
    crop_share: float = 0.0

    def validate(self) -> None:
        check_range("distill.alpha", self.alpha, 0.0, 1.0)
        check_range("distill.temperature", self.temperature, 0.0, 1000.0, low_open=True)
        check_range("distill.attention", self.attention, 0.0, 1e6)
        if not (0.0 <= self.mix_share and 0.0 <= self.crop_share and self.mix_share + self.crop_share <= 1.0):
            raise ConfigError("distill.mix_share and distill.crop_share must be >= 0 and sum to at most 1")
        if (self.mix_share or self.crop_share) and not self.teacher:
            raise ConfigError("distill.mix_share / crop_share need a distill.teacher")
        if not isinstance(self.teacher, str) and not (self.teacher and all(self.teacher)):
            raise ConfigError("distill.teacher: an ensemble lists one file per member, none empty (no "
                              "distillation: leave teacher out or \"\")")
        if self.attention and len(self.teachers) > 1:
            raise ConfigError("distill.attention needs a single teacher, not an ensemble")

    @property
    def enabled(self) -> bool:
        return bool(self.teacher)

    @property
    def teachers(self) -> tuple[str, ...]:
        """The teacher files: one, the members of an ensemble, or none."""
        if isinstance(self.teacher, str):
            return (self.teacher,) if self.teacher else ()
        return tuple(self.teacher)


PRUNE_SCOPES = ("layer", "global")


@dataclass(frozen=True)
class PruneSection:
    """Unstructured magnitude pruning while training (`tinykws.compress`): the sparsity of
    the prunable weights (conv, linear and recurrent weight matrices, minus `exclude`
    name patterns) grows from `initial` to `amount` along Zhu & Gupta's cubic schedule
    between `start_epoch` and `end_epoch` (epoch fractions allowed), recomputed every
    `every_steps` steps; per layer (each layer loses `amount` of its weights) or global (one
    magnitude threshold over all of them). Pruned weights stay zero to the end."""

    amount: float = 0.0
    scope: str = "layer"
    initial: float = 0.0
    start_epoch: float = 0.0
    end_epoch: float = 1.0
    every_steps: int = 20
    exclude: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.amount > 0

    def validate(self) -> None:
        if not 0.0 <= self.initial <= self.amount < 1.0:
            raise ConfigError(f"prune: need 0 <= initial <= amount < 1, got {self.initial}, {self.amount}")
        if self.scope not in PRUNE_SCOPES:
            raise ConfigError(f"prune.scope {self.scope!r} is not one of {', '.join(PRUNE_SCOPES)}")
        if not 0.0 <= self.start_epoch <= self.end_epoch or self.every_steps < 1:
            raise ConfigError("prune: need 0 <= start_epoch <= end_epoch and every_steps >= 1")


# The observers of tinykws.quant (layer 6, above this one); a test keeps the two equal.
OBSERVER_NAMES = ("minmax", "percentile", "mse")


@dataclass(frozen=True)
class QuantSection:
    """How `tinykws quantize RUN_DIR` turns the trained model into int8 (flags override).

    calib_clips: calibration clips from the training split of `calib_data` (empty: the
    first data source); observer / percentile: activation ranges (see quant.QuantConfig);
    weight_bits 2..8, act_bits 2..8 (below 8: simulation only, no .tflite); weight_symmetric /
    act_symmetric choose the scheme (TFLite's: symmetric weights, asymmetric activations; the
    others are simulation only); qat_epochs > 0
    fine-tunes on up to `qat_clips` training clips at `qat_lr`, learning the float model's
    outputs (`qat_distill`) or the labels; `seed` picks the clips.
    """

    calib_clips: int = 500
    calib_data: str = ""
    observer: str = "minmax"
    percentile: float = 99.99
    weight_bits: int = 8
    act_bits: int = 8
    weight_symmetric: bool = True
    act_symmetric: bool = False
    qat_epochs: int = 0
    qat_clips: int = 4000
    qat_lr: float = 1e-4
    qat_distill: bool = True
    seed: int = 0

    def validate(self) -> None:
        if self.calib_clips < 1:
            raise ConfigError(f"quant.calib_clips must be >= 1, got {self.calib_clips}")
        if self.observer not in OBSERVER_NAMES:
            raise ConfigError(f"quant.observer {self.observer!r} is not one of {', '.join(OBSERVER_NAMES)}")
        if not 2 <= self.weight_bits <= 8 or not 2 <= self.act_bits <= 8:
            raise ConfigError("quant.weight_bits and quant.act_bits must be 2..8")
        if self.qat_epochs < 0 or self.qat_clips < 1:
            raise ConfigError("quant.qat_epochs must be >= 0 and quant.qat_clips >= 1")
        if not (self.qat_lr > 0 and self.qat_lr < 1):
            raise ConfigError(f"quant.qat_lr must be in (0, 1), got {self.qat_lr}")


@dataclass(frozen=True)
class ExportSection:
    """What the int8 export is checked on and how.

    test_data: a dataset folder whose test split measures accuracy and verifies the file in
    every engine (empty: the validation split of the calibration data); verify: run the
    written .tflite in the numpy runtime, LiteRT and TFLite Micro and require identical
    int8 outputs (on the first `verify_clips` test clips; 0: all); arena: measure the
    TFLite Micro tensor arena.
    """

    test_data: str = ""
    verify: bool = True
    arena: bool = True
    verify_clips: int = 0


@dataclass(frozen=True)
class RunConfig:
    """A whole training run, as resolved from a recipe and its overrides: from data to a
    checkpoint (data ... distill), and from the checkpoint to an int8 .tflite (quant, export)."""

    name: str = "run"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    prune: PruneSection = field(default_factory=PruneSection)
    quant: QuantSection = field(default_factory=QuantSection)
    export: ExportSection = field(default_factory=ExportSection)

    def validate(self) -> None:
        """Raise ConfigError for settings that cannot work together."""
        if not isinstance(self.name, str) or not RUN_NAME.match(self.name):
            raise ConfigError(f"name must be a plain folder name (letters, digits, '.', '_', '+', '-'; not "
                              f"starting with '.'), got {self.name!r}")
        self.data.validate()
        self.optim.validate()
        self.schedule.validate()
        self.train.validate()
        self.distill.validate()
        self.prune.validate()
        self.quant.validate()
