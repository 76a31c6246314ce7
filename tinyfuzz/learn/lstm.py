"""The learned generator: an LSTM language model of the corpus's programs, sampled for new ones.

DeepSmith's recipe on tinyfuzz's corpus, over the tokens of ``tokens.py`` (tokens seen fewer than
``min_count`` times become ``<unk>``). A small LSTM (embedding, ``layers`` x ``units``, dropout)
learns the next token: the training split's programs are packed into one stream, cut into
``batch_size`` rows and read in windows of ``bptt`` tokens with the state carried over (truncated
backpropagation through time, no padding), with Adam and token-level cross entropy, until the
validation split's loss stops improving. Seeded: the same programs, configuration and seed give the
same model. ``search`` tunes units, layers, learning rate and batch size with Optuna's TPE sampler
on the validation loss.

``sample`` draws tokens until ``<eos>`` (from the state a held-out program leaves, as in training,
where every program follows another), turns them back into text (``detokenize``) and runs the
programs on the reference in worker processes, never here: the outcome says whether a program
compiled and whether it ran cleanly. The report counts what was drawn, compiled, ran cleanly,
duplicates, and what is novel: not in the training corpus, compared after ``normalise``.

PyTorch and Optuna are the ``learn`` extra, imported only when a model is trained or loaded.
"""

from __future__ import annotations

import math
import random
import time
import tokenize
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

from tinyfuzz._internal.files import atomic_file
from tinyfuzz._internal.hashing import content_hash
from tinyfuzz.errors import InvalidArgument
from tinyfuzz.learn.tokens import BOS, EOS, UNK, Vocabulary, canonical_names, detokenize, normalise, tokenize_program

FORMAT = "tinyfuzz-lstm/1"
INSTALL = "pip install 'tinyfuzz[learn]'"
VALIDATION_ROWS = 10  # fixed, so validation losses compare across batch sizes (trials)


# ---- the model ----

@dataclass(frozen=True)
class Config:
    units: int = 128  # LSTM units per layer, also the embedding size
    layers: int = 2
    dropout: float = 0.2
    learning_rate: float = 3e-3
    batch_size: int = 32  # rows the packed token stream is cut into, trained side by side
    bptt: int = 64  # tokens per window of truncated backpropagation
    epochs: int = 20  # at most: early stopping usually ends sooner
    patience: int = 3  # epochs without a better validation loss before stopping
    min_count: int = 2  # rarer tokens become <unk>
    canonical_names: bool = True  # learn from (and sample) programs renamed by canonical_names
    validation: float = 0.1  # share of the programs held out

    def __post_init__(self):
        for name in ("units", "layers", "batch_size", "bptt", "epochs", "patience", "min_count"):
            if getattr(self, name) < 1:
                raise InvalidArgument(f"{name}={getattr(self, name)}: must be at least 1")
        if not (0 <= self.dropout < 1 and 0 < self.validation < 1 and self.learning_rate > 0):
            raise InvalidArgument(f"dropout={self.dropout}, validation={self.validation}, "
                                  f"learning_rate={self.learning_rate}: the first two must be "
                                  "in [0, 1) and (0, 1), the last greater than 0")


@dataclass
class Model:
    """A trained network with its vocabulary, configuration and training statistics."""

    network: object  # a torch.nn.ModuleDict: embed, drop, lstm, out
    vocabulary: Vocabulary
    config: Config
    stats: dict = field(default_factory=dict)

    def generate(self, n: int, *, temperature: float = 1.0, seed: int = 0,
                 max_tokens: int | None = None) -> list[str | None]:
        """``n`` programs' text, sampled token by token until ``<eos>``; ``None`` for an empty
        one and one that reached ``max_tokens`` (default: twice the longest training program)."""
        if not temperature > 0:
            raise InvalidArgument(f"temperature={temperature}: must be greater than 0")
        torch = _torch()
        limit = max_tokens or 2 * self.stats["longest"]
        banned = [self.vocabulary.ids[BOS], self.vocabulary.ids[UNK]]  # <unk> has no text
        end = self.vocabulary.ids[EOS]
        generator = torch.Generator().manual_seed(seed)
        self.network.eval()
        texts: list[str | None] = []
        with torch.no_grad():
            for offset in range(0, n, 1000):  # bounded memory for large n
                rows = min(1000, n - offset)
                # in training every program follows another: start from the state one leaves
                # (from a zero state, 15% of tinypy samples had a syntax error on line 1; now 0.2%)
                _, state = _forward(self.network, torch.tensor([self.stats["primer"]] * rows), None)
                ids = torch.full((rows, 1), self.vocabulary.ids[BOS])
                drawn = []
                finished = torch.zeros(rows, dtype=torch.bool)
                for _ in range(limit):
                    logits, state = _forward(self.network, ids, state)
                    logits = logits[:, -1] / temperature
                    logits[:, banned] = -math.inf
                    ids = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)
                    drawn.append(ids[:, 0])
                    finished |= ids[:, 0] == end
                    if finished.all():
                        break
                for row in torch.stack(drawn, 1).tolist():
                    program = row[:row.index(end)] if end in row else []  # unfinished: none
                    texts.append(detokenize(self.vocabulary.tokens[i] for i in program) or None)
        return texts

    def summary(self) -> str:
        stats = self.stats
        search = f", search {stats['search_seconds']:.1f} s" if stats["trials"] else ""
        return (f"validation loss {stats['validation_loss']:.3f} (perplexity "
                f"{math.exp(stats['validation_loss']):.2f}) after {len(stats['epochs'])} epochs in "
                f"{stats['seconds']:.1f} s{search}; {stats['programs']:,} programs "
                f"({stats['validation_programs']:,} held out; {stats['skipped']:,} did not parse), "
                f"{stats['training_tokens']:,} training tokens, vocabulary "
                f"{stats['vocabulary']:,}; {describe(self.config)}")

    def save(self, path: str | Path) -> Path:
        """One file (``torch.save``): weights, vocabulary, configuration, statistics; atomically."""
        torch = _torch()
        payload = {"format": FORMAT, "state_dict": self.network.state_dict(),
                   "vocabulary": self.vocabulary.tokens, "config": asdict(self.config),
                   "stats": self.stats}
        with atomic_file(path, binary=True) as out:
            torch.save(payload, out)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> Model:
        torch = _torch()
        if not Path(path).is_file():
            raise InvalidArgument(f"{path}: no such model file")
        try:
            payload = torch.load(path, weights_only=True)  # plain data only: loading runs no code
            if payload.get("format") != FORMAT:
                raise ValueError
            config = Config(**payload["config"])
            vocabulary = Vocabulary(payload["vocabulary"])
            network = _network(len(vocabulary), config)
            network.load_state_dict(payload["state_dict"])
        except Exception:
            raise InvalidArgument(f"{path}: not a model file of this tinyfuzz "
                                  "(write one with tinyfuzz learn)") from None
        return cls(network, vocabulary, config, payload["stats"])


def describe(config: Config | dict) -> str:
    """The searched hyperparameters as ``units=128 layers=2 learning_rate=0.003 batch_size=32``."""
    values = asdict(config) if isinstance(config, Config) else config
    return " ".join(f"{key}={values[key]:.3g}" if isinstance(values[key], float)
                    else f"{key}={values[key]}" for key in SEARCH_SPACE)


def use_threads(count: int) -> None:
    """PyTorch's threads in this process. A model this small gains little from more than one, and
    on a busy machine more are much slower (they wait for each other): the CLI uses one."""
    _torch().set_num_threads(count)


def _torch():
    try:
        import torch
    except ImportError:
        raise InvalidArgument(f"the learned generator needs PyTorch: {INSTALL}") from None
    return torch


def _network(vocabulary_size: int, config: Config):
    nn = _torch().nn
    return nn.ModuleDict({
        "embed": nn.Embedding(vocabulary_size, config.units),
        "drop": nn.Dropout(config.dropout),
        "lstm": nn.LSTM(config.units, config.units, config.layers, batch_first=True,
                        dropout=config.dropout if config.layers > 1 else 0.0),
        "out": nn.Linear(config.units, vocabulary_size),
    })


def _forward(network, ids, state):
    """Logits for the next token at each position of ``ids`` (rows x steps), and the new state."""
    outputs, state = network["lstm"](network["drop"](network["embed"](ids)), state)
    return network["out"](network["drop"](outputs)), state


# ---- training ----

@dataclass
class _Data:
    vocabulary: Vocabulary
    training: list[int]  # the training programs' ids, one stream
    validation: list[int]
    stats: dict


def _prepare(programs: Sequence[str], config: Config, seed: int) -> _Data:
    """Tokenize, split by program (seeded), build the vocabulary on the training split."""
    tokenized, skipped = [], 0
    for source in programs:
        try:
            tokenized.append(tokenize_program(canonical_names(source) if config.canonical_names
                                              else source))
        except (SyntaxError, ValueError, RecursionError, tokenize.TokenError):
            skipped += 1
    if len(tokenized) < 2:
        raise InvalidArgument(f"learning needs at least 2 programs that parse (one to train on, "
                              f"one to validate), got {len(tokenized)}")
    order = list(range(len(tokenized)))
    random.Random(seed).shuffle(order)
    held_out = min(len(order) - 1, max(1, round(config.validation * len(order))))
    vocabulary = Vocabulary.build((tokenized[i] for i in order[held_out:]), config.min_count)
    encoded = [vocabulary.encode(tokens) for tokens in tokenized]
    training = [i for index in order[held_out:] for i in encoded[index]]
    validation = [i for index in order[:held_out] for i in encoded[index]]
    return _Data(vocabulary, training, validation, stats={
        "programs": len(tokenized), "skipped": skipped, "training_programs": len(order) - held_out,
        "validation_programs": held_out, "training_tokens": len(training),
        "vocabulary": len(vocabulary), "longest": max(map(len, encoded)),
        "primer": encoded[order[0]],  # a held-out program: generate starts from the state it leaves
        # novelty of samples is judged against these (every program learnt from, both splits)
        "corpus_hashes": sorted({content_hash(detokenize(tokens)) for tokens in tokenized})})


def train(programs: Sequence[str], config: Config = Config(), *, seed: int = 0,
          on_epoch: Callable[[dict], None] | None = None) -> Model:
    """Train a model on ``programs`` (source texts); ``on_epoch`` gets each epoch's losses."""
    return _fit(_prepare(programs, config, seed), config, seed, on_epoch)


def _fit(data: _Data, config: Config, seed: int, on_epoch=None) -> Model:
    torch = _torch()
    torch.manual_seed(seed)
    network = _network(len(data.vocabulary), config)
    optimizer = torch.optim.Adam(network.parameters(), lr=config.learning_rate)
    training = _rows(data.training, config.batch_size)
    validation = _rows(data.validation, VALIDATION_ROWS)
    started = time.perf_counter()
    best, best_weights, stale, history = math.inf, None, 0, []
    for epoch in range(1, config.epochs + 1):
        training_loss = _epoch(network, training, config.bptt, optimizer)
        validation_loss = _epoch(network, validation, config.bptt)
        history.append({"epoch": epoch, "training_loss": training_loss,
                        "validation_loss": validation_loss,
                        "seconds": time.perf_counter() - started})
        if on_epoch:
            on_epoch(history[-1])
        if validation_loss < best:
            best, stale = validation_loss, 0
            best_weights = {k: v.clone() for k, v in network.state_dict().items()}
        else:
            stale += 1
            if stale >= config.patience:
                break
    network.load_state_dict(best_weights)
    stats = {**data.stats, "validation_loss": best, "epochs": history,
             "seconds": time.perf_counter() - started, "trials": []}
    return Model(network, data.vocabulary, config, stats)


def _rows(ids: list[int], rows: int):
    """The stream cut into ``rows`` equal rows (a rows x steps tensor), the remainder dropped."""
    torch = _torch()
    rows = max(1, min(rows, len(ids) // 2))
    steps = len(ids) // rows
    return torch.tensor(ids[:rows * steps]).view(rows, steps)


def _epoch(network, rows, bptt: int, optimizer=None) -> float:
    """One pass over ``rows`` in windows of ``bptt`` tokens: the mean loss per token (nats).
    Trains when given an optimizer, else only evaluates."""
    torch = _torch()
    training = optimizer is not None
    network.train(training)
    total, count, state = 0.0, 0, None
    with torch.set_grad_enabled(training):
        for start in range(0, rows.size(1) - 1, bptt):
            targets = rows[:, start + 1:start + 1 + bptt]
            inputs = rows[:, start:start + targets.size(1)]
            logits, state = _forward(network, inputs, state)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)),
                                                     targets.reshape(-1))
            if training:
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)  # LSTMs' gradients spike
                optimizer.step()
            state = tuple(s.detach() for s in state)  # carry the state, not its gradient
            total += loss.item() * targets.numel()
            count += targets.numel()
    return total / count


# ---- hyperparameter search ----

SEARCH_SPACE = {"units": (32, 64, 128, 256), "layers": (1, 2), "learning_rate": (1e-3, 2e-2),
                "batch_size": (8, 16, 32, 64)}


def search(programs: Sequence[str], trials: int = 10, *, config: Config = Config(),
           trial_epochs: int = 3, seed: int = 0, on_trial: Callable[[dict], None] | None = None,
           on_epoch: Callable[[dict], None] | None = None) -> Model:
    """Tune units, layers, learning rate and batch size with Optuna's TPE sampler: each trial
    trains ``trial_epochs`` epochs and scores its validation loss; the best configuration is then
    trained for ``config.epochs``. The model's stats keep the trial table."""
    try:
        import optuna
    except ImportError:
        raise InvalidArgument(f"the hyperparameter search needs Optuna: {INSTALL}") from None
    if trials < 1:
        raise InvalidArgument(f"trials={trials}: must be at least 1")
    data = _prepare(programs, config, seed)
    table: list[dict] = []

    def objective(trial) -> float:
        tried = replace(
            config, epochs=trial_epochs,
            units=trial.suggest_categorical("units", SEARCH_SPACE["units"]),
            layers=trial.suggest_int("layers", *SEARCH_SPACE["layers"]),
            learning_rate=trial.suggest_float("learning_rate", *SEARCH_SPACE["learning_rate"],
                                              log=True),
            batch_size=trial.suggest_categorical("batch_size", SEARCH_SPACE["batch_size"]))
        model = _fit(data, tried, seed)
        table.append({"trial": trial.number, **trial.params,
                      "validation_loss": model.stats["validation_loss"],
                      "seconds": model.stats["seconds"]})
        if on_trial:
            on_trial(table[-1])
        return model.stats["validation_loss"]

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # trials are reported through on_trial
    # TPE's default of 10 random start-up trials would make a short search a random one
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(1, min(10, trials // 3)))
    study = optuna.create_study(direction="minimize", sampler=sampler)
    started = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    searched = time.perf_counter() - started
    model = _fit(data, replace(config, **study.best_params), seed, on_epoch)
    model.stats.update(trials=table, search_seconds=searched)
    return model


# ---- sampling ----

_NOT_COMPILED = {"SyntaxError", "IndentationError", "TabError"}


@dataclass
class SampleReport:
    """What a batch of samples gave. ``programs``: the distinct valid ones, (source, stdout)."""

    drawn: int
    unfinished: int  # empty, or reached the token limit before <eos>
    compiled: int
    valid: int  # compiled and ran cleanly on the reference
    duplicates: int  # valid, and the same as an earlier valid sample
    novel: int  # distinct valid programs not in the training corpus
    seconds: float
    programs: list[tuple[str, str]]

    def summary(self) -> str:
        def share(part: int, whole: int) -> str:
            return f"{part / whole:.1%}" if whole else "-"

        distinct = len(self.programs)
        return (f"drew {self.drawn:,} programs in {self.seconds:.1f} s: {self.compiled:,} compiled "
                f"({share(self.compiled, self.drawn)}), {self.valid:,} ran cleanly "
                f"({share(self.valid, self.drawn)}), {self.unfinished:,} unfinished; "
                f"{distinct:,} distinct valid ({self.duplicates:,} duplicates), {self.novel:,} "
                f"novel ({share(self.novel, distinct)} of distinct: not in the training corpus)")


def sample(model: Model, n: int, *, temperature: float = 1.0, seed: int = 0,
           reference: str = "cpython", workers: int | None = None) -> SampleReport:
    """Draw ``n`` programs and keep the distinct ones that compile and run cleanly on the
    reference (each distinct text runs once, in worker processes)."""
    from tinyfuzz.execution.pair import run_on_reference

    started = time.perf_counter()
    texts = model.generate(n, temperature=temperature, seed=seed)
    finished = [text for text in texts if text is not None]
    distinct = list(dict.fromkeys(finished))
    outcomes = dict(zip(distinct, run_on_reference(distinct, reference, workers)))
    # a SyntaxError from the worker is the compiler's: generated programs don't call compile()
    compiled = sum(not (outcomes[t].status == "exception" and outcomes[t].exc_type in _NOT_COMPILED)
                   for t in finished)
    valid = sum(outcomes[t].ok for t in finished)
    kept = [(t, outcomes[t].stdout) for t in distinct if outcomes[t].ok]
    known = set(model.stats["corpus_hashes"])
    rename = model.config.canonical_names
    novel = sum(content_hash(normalise(t, rename=rename)) not in known for t, _ in kept)
    return SampleReport(drawn=n, unfinished=n - len(finished), compiled=compiled, valid=valid,
                        duplicates=valid - len(kept), novel=novel,
                        seconds=time.perf_counter() - started, programs=kept)
