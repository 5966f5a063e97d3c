"""RunConfig: the one list of knobs.

Every setting a run has is declared once, in ``FIELDS``: its type, default, bounds and help text.
The Streamlit controls, the CLI flags, the shareable URL, the stored ``run.json`` and the
TensorBoard hparams are all generated from this table, so a bound checked here cannot be bypassed by
any of them (TensorFlow Playground checked limits in UI handlers; a URL skipped them). What an entry
means, and how one value is checked: ``fields``.

The defaults are the study notebook's: an MLP 784-300-100-10 with ReLU, no batch norm, no PCA,
plain SGD with learning rate 0.01 and mini-batches of 70.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping

from .fields import MAX_QUERY_VALUE, ConfigError, Field, coerce, format_value, parse

ACTIVATIONS = ("relu", "elu", "leaky_relu", "selu", "tanh", "sigmoid", "gelu")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
INITIALIZERS = ("auto", "he_normal", "he_uniform", "glorot_normal", "glorot_uniform", "lecun_normal", "zeros")
SCHEDULES = ("constant", "exponential", "step", "cosine", "one_cycle", "plateau")
DATASETS = ("mnist", "fashion_mnist")
INPUT_SIZE = 784
NUM_CLASSES = 10
MAX_TRAIN_EXAMPLES = 60000


FIELDS: tuple[Field, ...] = (
    Field("dataset", "choice", "mnist", "Which 28x28 grey-scale set to learn.", "Dataset",
          choices=DATASETS),
    Field("hidden", "layers", (300, 100), "Units in each hidden layer, input side first (1-4 layers).",
          "Hidden layers", lo=1, hi=4096),
    Field("activation", "choice", "relu", "Non-linearity after each hidden layer.", "Activation",
          choices=ACTIVATIONS),
    Field("init", "choice", "auto",
          "How the weights start: auto picks by activation (He for the ReLU family, LeCun for SELU, Glorot "
          "for tanh and sigmoid); zeros shows why symmetric weights cannot learn.", "Initialiser",
          choices=INITIALIZERS, since=2),
    Field("batch_norm", "bool", False,
          "Batch normalization (momentum 0.9) between each hidden Dense layer and its activation.",
          "Batch norm"),
    Field("bn_eval", "choice", "moving",
          "How batch norm normalises when evaluating: moving averages collected in training (Keras' way, "
          "correct), or the statistics of the evaluated set itself, as the notebook did with training=True. "
          "Only with batch norm.", "Batch norm at evaluation", choices=("moving", "batch"), since=2),
    Field("pca", "int", 0, "Compress the 784 pixels to this many principal components (0 = off).",
          "PCA components", lo=1, hi=783, zero_means_off=True),
    Field("pca_variance", "float", 0.0,
          "Compress the pixels to the fewest components keeping this share of the variance (0 = off).",
          "PCA variance kept", lo=0.0, hi=1.0, zero_means_off=True, lo_open=True, hi_open=True),
    Field("optimizer", "choice", "sgd",
          "Update rule; momentum and nesterov use momentum 0.9.", "Optimizer", choices=OPTIMIZERS),
    Field("learning_rate", "float", 0.01, "Step size of the optimizer.", "Learning rate",
          lo=0.0, hi=10.0, log_scale=True, lo_open=True),
    Field("schedule", "choice", "constant",
          "How the learning rate changes during the run: constant; exponential or step decay by decay_rate "
          "every decay_epochs; cosine down to 0 at the last step; one_cycle (up from a 25th to the rate in "
          "the first 30 percent of the steps, then cosine down to 0); plateau (times decay_rate after decay_epochs "
          "epochs without a lower validation loss, needs validation).", "Learning-rate schedule",
          choices=SCHEDULES, since=2),
    Field("decay_rate", "float", 0.1,
          "exponential, step and plateau schedules: the factor the learning rate is multiplied by.",
          "Decay factor", lo=0.0, hi=1.0, lo_open=True, hi_open=True, since=2),
    Field("decay_epochs", "int", 10,
          "exponential and step schedules: epochs per decay factor; plateau: epochs without improvement "
          "before the rate is cut.", "Decay every (epochs)", lo=1, hi=500, since=2),
    Field("batch_size", "int", 70, "Examples per gradient step.", "Batch size", lo=1, hi=60000),
    Field("epochs", "int", 20, "Passes over the training examples.", "Epochs", lo=1, hi=500),
    Field("seed", "int", 42, "Seeds the weight initialisation and the shuffling.", "Seed",
          lo=0, hi=2**31 - 1),
    Field("train_examples", "int", 60000,
          "How many training examples to use (a fixed subset, the same for every run).",
          "Training examples", lo=10, hi=MAX_TRAIN_EXAMPLES),
    # --- regularisation: each number is a variable of the compiled loop, so changing it recompiles nothing
    Field("dropout", "float", 0.0,
          "Share of each hidden layer's outputs zeroed at random in every training step (SELU: alpha "
          "dropout); evaluation never drops.", "Dropout", lo=0.0, hi=0.9, since=2),
    Field("l1", "float", 0.0, "L1 penalty: this times the sum of |w| over every kernel is added to the loss "
          "(0 = off).", "L1 penalty", lo=0.0, hi=1.0, lo_open=True, log_scale=True, zero_means_off=True,
          since=2),
    Field("l2", "float", 0.0, "L2 penalty (weight decay): this times the sum of w² over every kernel is "
          "added to the loss (0 = off).", "L2 penalty", lo=0.0, hi=1.0, lo_open=True, log_scale=True,
          zero_means_off=True, since=2),
    Field("max_norm", "float", 0.0,
          "Max-norm constraint: after each step every unit's incoming weight vector is scaled down to "
          "at most this length (0 = off).", "Max norm", lo=0.0, hi=100.0, lo_open=True, zero_means_off=True,
          since=2),
    Field("clip_norm", "float", 0.0,
          "Gradient clipping: the gradient of all weights together is scaled down to at most this global "
          "norm (0 = off).", "Clip gradient norm", lo=0.0, hi=100.0, lo_open=True, zero_means_off=True,
          since=2),
    Field("validation", "int", 0,
          "Hold out this many of the training examples (picked by the seed) to measure validation loss and "
          "accuracy each epoch (0 = off; the notebook held out 5,000).", "Validation examples",
          lo=1, hi=MAX_TRAIN_EXAMPLES - 1, zero_means_off=True, since=2),
    Field("patience", "int", 0,
          "Early stopping: end the run after this many epochs without a lower validation loss and keep "
          "the best epoch's weights (0 = off; needs validation).", "Early-stopping patience",
          lo=1, hi=500, zero_means_off=True, since=2),
)
FIELD_BY_NAME = {f.name: f for f in FIELDS}


@dataclass(frozen=True)
class RunConfig:
    dataset: str = "mnist"
    hidden: tuple[int, ...] = (300, 100)
    activation: str = "relu"
    batch_norm: bool = False
    bn_eval: str = "moving"
    pca: int = 0
    pca_variance: float = 0.0
    optimizer: str = "sgd"
    learning_rate: float = 0.01
    batch_size: int = 70
    epochs: int = 20
    seed: int = 42
    train_examples: int = 60000
    init: str = "auto"
    schedule: str = "constant"
    decay_rate: float = 0.1
    decay_epochs: int = 10
    dropout: float = 0.0
    l1: float = 0.0
    l2: float = 0.0
    max_norm: float = 0.0
    clip_norm: float = 0.0
    validation: int = 0
    patience: int = 0

    def __post_init__(self) -> None:
        for f in FIELDS:
            object.__setattr__(self, f.name, coerce(f, getattr(self, f.name)))
        if self.pca and self.pca_variance:
            raise ConfigError("Choose PCA by component count or by variance kept, not both: "
                              "set pca or pca_variance to 0.")
        if self.batch_size > self.fit_examples:
            held = f" minus the {self.validation} validation examples" if self.validation else ""
            raise ConfigError(f"batch_size ({self.batch_size}) is larger than train_examples "
                              f"({self.train_examples}){held}: lower the batch size or use more examples.")
        if self.patience and not self.validation:
            raise ConfigError("Early stopping (patience) watches the validation loss: set validation to a "
                              "number of held-out examples, e.g. 5000, or patience to 0.")
        if self.bn_eval != "moving" and not self.batch_norm:
            raise ConfigError("bn_eval chooses how batch norm evaluates: turn batch_norm on, or leave bn_eval "
                              "at moving.")
        if self.schedule == "plateau" and not self.validation:
            raise ConfigError("The plateau schedule watches the validation loss: set validation to a number "
                              "of held-out examples, e.g. 5000, or choose another schedule.")

    # --- derived facts -------------------------------------------------------------------
    @property
    def fit_examples(self) -> int:
        """The examples the weights are fitted on: train_examples minus the validation split."""
        return self.train_examples - self.validation

    @property
    def steps_per_epoch(self) -> int:
        """Gradient steps in an epoch; the partial last batch is dropped, as the notebook did."""
        return self.fit_examples // self.batch_size

    @property
    def uses_pca(self) -> bool:
        return bool(self.pca or self.pca_variance)

    def input_size(self, pca_components: int | None = None) -> int:
        """Width of the network's input: 784 pixels, or the PCA component count."""
        if self.pca:
            return self.pca
        if self.pca_variance:
            if pca_components is None:
                raise ValueError("with pca_variance the input size is known only after fitting PCA")
            return pca_components
        return INPUT_SIZE

    def param_count(self, pca_components: int | None = None) -> int:
        """Parameters of the Keras model, trainable and not (BN's moving statistics included)."""
        sizes = [self.input_size(pca_components), *self.hidden]
        total = 0
        for fan_in, units in zip(sizes, sizes[1:]):
            # With batch norm the Dense bias is redundant (BN's beta shifts anyway), so it is dropped;
            # BN keeps gamma, beta and the two moving statistics per unit.
            total += fan_in * units + (4 * units if self.batch_norm else units)
        return total + sizes[-1] * NUM_CLASSES + NUM_CLASSES

    @property
    def label(self) -> str:
        """A short human label, e.g. '300-100 elu BN pca154 nesterov'. Non-default extras are appended."""
        parts = ["-".join(map(str, self.hidden)), self.activation]
        if self.batch_norm:
            parts.append("BN" if self.bn_eval == "moving" else "BN(batch-eval)")
        if self.pca:
            parts.append(f"pca{self.pca}")
        if self.pca_variance:
            parts.append(f"pca{self.pca_variance * 100:g}%")
        parts.append(self.optimizer)
        if self.learning_rate != FIELD_BY_NAME["learning_rate"].default:
            parts.append(f"lr{self.learning_rate:g}")
        if self.batch_size != FIELD_BY_NAME["batch_size"].default:
            parts.append(f"b{self.batch_size}")
        if self.train_examples != MAX_TRAIN_EXAMPLES:
            parts.append(f"n{self.train_examples}")
        if self.init != "auto":
            parts.append(f"init-{self.init}")
        extras = {"dropout": "drop", "l1": "l1=", "l2": "l2=", "max_norm": "maxnorm", "clip_norm": "clip"}
        parts += [f"{tag}{getattr(self, name):g}" for name, tag in extras.items() if getattr(self, name)]
        if self.schedule != "constant":
            parts.append(self.schedule)
        if self.validation:
            parts.append(f"val{self.validation}")
        if self.patience:
            parts.append(f"patience{self.patience}")
        if self.dataset != "mnist":
            parts.insert(0, "fashion")
        return " ".join(parts)

    @property
    def config_hash(self) -> str:
        """Stable across processes and versions of Python: a digest of the canonical JSON. Fields added
        after the reference runs were stored are left out while at their default, so an old run's hash
        still names the same settings (a sweep resumes, seed groups stay groups)."""
        d = {k: v for k, v in self.to_dict().items()
             if FIELD_BY_NAME[k].since == 1 or v != FIELD_BY_NAME[k].default}
        canon = json.dumps(d, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()[:12]

    def settings_hash(self) -> str:
        """Like config_hash but ignoring epochs: two runs of the same settings for different lengths."""
        return dataclasses.replace(self, epochs=1).config_hash

    def seed_group(self, repeat: int, stamp: str) -> tuple[str | None, list["RunConfig"]]:
        """The same settings with seeds seed, seed+1, ... as one group (None for a single run).

        One run shows one draw of the initial weights and batch order; a group shows how much of a
        difference between two settings is just that luck."""
        if repeat <= 1:
            return None, [self]
        hi = FIELD_BY_NAME["seed"].hi
        return (f"{self.settings_hash()}-{stamp}",
                [self.replace(seed=self.seed + i) for i in range(repeat) if self.seed + i <= hi])

    # --- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunConfig":
        """Strict: unknown keys and bad values raise ConfigError."""
        if not isinstance(data, Mapping):
            raise ConfigError("A run config must be a JSON object of settings.")
        unknown = sorted(set(data) - set(FIELD_BY_NAME))
        if unknown:
            raise ConfigError(f"Unknown setting {unknown[0]!r}: valid ones are {', '.join(FIELD_BY_NAME)}.")
        return cls(**dict(data))

    def replace(self, **changes: Any) -> "RunConfig":
        return dataclasses.replace(self, **changes)

    def to_hparams(self) -> dict[str, Any]:
        """Flat str/float/int/bool values, as TensorBoard's hparams plugin wants them."""
        d = self.to_dict()
        d["hidden"] = "-".join(map(str, self.hidden))
        d["hidden_layers"] = len(self.hidden)
        return d

    # --- URL query parameters -------------------------------------------------------------
    def to_query(self) -> dict[str, str]:
        """Only settings that differ from the defaults, so a shared link stays short."""
        default = RunConfig()
        return {f.name: format_value(f, getattr(self, f.name)) for f in FIELDS
                if getattr(self, f.name) != getattr(default, f.name)}

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> tuple["RunConfig", list[str]]:
        """Lenient: each bad parameter falls back to its default, with a warning sentence for it.

        Never raises; a link can't bypass a bound because every value goes through the same
        validation as any other config.
        """
        values: dict[str, Any] = {}
        warnings: list[str] = []
        for f in FIELDS:
            if f.name not in params:
                continue
            raw = params[f.name]
            if isinstance(raw, (list, tuple)) and f.kind != "layers":
                raw = raw[-1] if raw else ""
            try:
                values[f.name] = coerce(f, parse(f, raw))
            except ConfigError as e:
                warnings.append(f"Ignored the link's {f.name}: {e}")
        try:
            return cls(**values), warnings
        except ConfigError as e:  # a combination that is invalid (e.g. both PCA modes)
            warnings.append(f"Ignored the link's settings: {e}")
            return cls(), warnings


def field_names(raw: Any, param: str) -> tuple[tuple[str, ...], list[str]]:
    """A link's comma-separated list of setting names (``hide=optimizer,batch_norm``): the known names,
    and a warning sentence for anything else. Never raises."""
    if isinstance(raw, (list, tuple)):
        raw = ",".join(str(r) for r in raw)
    text = str(raw)
    if len(text) > MAX_QUERY_VALUE:
        return (), [f"Ignored the link's {param}: the value is {len(text)} characters long, more than "
                    f"{MAX_QUERY_VALUE}."]
    names, unknown = [], []
    for part in (p.strip() for p in text.split(",")):
        if part in FIELD_BY_NAME:
            names.append(part)
        elif part:
            unknown.append(part)
    warnings = [f"Ignored {repr(u)[:60]} in the link's {param}: it is not a setting (settings: "
                f"{', '.join(FIELD_BY_NAME)})." for u in unknown[:3]]
    return tuple(dict.fromkeys(names)), warnings
