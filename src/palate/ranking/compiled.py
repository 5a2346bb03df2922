"""Gradient-boosted trees as native code: lleaves compiles a LightGBM model with LLVM.

Compiled trees score a batch several times faster than LightGBM's own predictor, whose
per-call overhead dominates at serving batch sizes. Compilation takes seconds (in a child
process), so its object is cached next to the model, keyed by CPU and compiler versions, and
published by rename so concurrent processes never read half a file; loading it takes
milliseconds. Anything that goes wrong while compiling, or a
compiled model that disagrees with LightGBM on a probe batch, falls back to native LightGBM:
slower, still correct.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Sequence
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from palate.pipeline.candidates import FloatArray

FloatMatrix = npt.NDArray[np.float64]
PROBE_ROWS = 256
PROBE_TOLERANCE = 1e-6
COMPILE_TIMEOUT_S = 1_800.0
_MAX_ROWS = 2**31 - 1  # the entry point counts rows in an int32
_FEATURE_INFOS = re.compile(r"^feature_infos=(.*)$", re.MULTILINE)
# LLVM's global state is not safe to build engines from two threads at once; predicting is.
_COMPILE_LOCK = threading.Lock()

log = logging.getLogger("palate.ranking.compiled")


class CompilationError(RuntimeError):
    """lleaves could not compile a model."""


class Predictor(Protocol):
    """Scores rows of a C-contiguous float64 matrix whose columns are the model's features."""

    backend: str
    n_features: int

    def predict(self, rows: FloatMatrix) -> FloatArray:
        """One score per row."""
        ...


class LightGBMPredictor:
    """LightGBM's own predictor on one thread: the reference the compiled trees must match."""

    backend = "lightgbm"

    def __init__(self, model_file: Path) -> None:
        import lightgbm

        self._booster = lightgbm.Booster(model_file=str(model_file))
        self.n_features: int = self._booster.num_feature()

    def predict(self, rows: FloatMatrix) -> FloatArray:
        """Scores from the booster (one thread: serving parallelism is across requests)."""
        scores: FloatArray = np.asarray(
            self._booster.predict(rows, num_threads=1), dtype=np.float64
        )
        return scores


class CompiledPredictor:
    """An lleaves-compiled model, called on the caller's thread without the GIL.

    A C-contiguous float64 matrix goes straight to the compiled entry point: lleaves' own
    ``predict`` re-checks and re-wraps its input on every call (ctypes pointer casts cost
    as much as walking 32 trees over 200 rows). Anything else takes lleaves' own path.
    """

    backend = "lleaves"

    def __init__(self, model: object, n_features: int) -> None:
        self._model = model
        self.n_features = n_features
        self._entry = _raw_entry(model)

    def predict(self, rows: FloatMatrix) -> FloatArray:
        """Scores from the compiled forest."""
        if self._entry is None or not self._direct(rows):
            scores: FloatArray = self._model.predict(rows, n_jobs=1)  # type: ignore[attr-defined]
            return scores
        out = np.zeros(rows.shape[0], dtype=np.float64)  # later instruction blocks add to it
        self._entry(rows.ctypes.data, out.ctypes.data, 0, rows.shape[0])
        return out

    def _direct(self, rows: FloatMatrix) -> bool:
        """Whether ``rows`` is exactly the buffer the entry point reads: no copy, no cast."""
        return (
            type(rows) is np.ndarray
            and rows.dtype == np.float64
            and rows.ndim == 2
            and rows.shape[1] == self.n_features
            and rows.shape[0] < _MAX_ROWS
            and rows.flags.c_contiguous
        )


def _raw_entry(model: object) -> Callable[[int, int, int, int], None] | None:
    """The compiled entry point taking plain addresses, if ``model`` is a float64 regressor.

    Same function and signature as lleaves' own wrapper (``data``, ``out``, ``start``,
    ``end``), as a foreign function that releases the GIL while it runs.
    """
    wrapped = getattr(model, "_c_entry_func", None)
    if wrapped is None or getattr(model, "use_fp64", False) is not True:
        return None
    if getattr(model, "_n_classes", None) != 1:
        return None
    address = ctypes.cast(wrapped, ctypes.c_void_p).value
    if not address:
        return None
    signature = ctypes.CFUNCTYPE(
        None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32
    )
    entry: Callable[[int, int, int, int], None] = signature(address)
    return entry


def cache_name() -> str:
    """The compiled object's file name for this CPU, lleaves and llvmlite.

    Objects are specialised to the host CPU, so a shared registry keeps one per CPU model.
    """
    import llvmlite.binding as llvm  # type: ignore[import-untyped]

    llvm.initialize_native_target()
    cpu = re.sub(r"[^A-Za-z0-9_.-]", "_", llvm.get_host_cpu_name())
    return f"{cpu}-lleaves{package_version('lleaves')}-llvmlite{package_version('llvmlite')}.o"


def compile_model(model_file: Path, cache_dir: Path) -> CompiledPredictor:
    """Compile ``model_file`` unless ``cache_dir`` holds its object, then load that object.

    Compiling runs in a child process: lleaves builds its IR in Python, which would hold this
    process's GIL for seconds (stalling requests), and an LLVM crash must not take the server.
    """
    import lleaves

    cache = compile_object(model_file, cache_dir)
    model = lleaves.Model(model_file=str(model_file))
    with _COMPILE_LOCK:
        model.compile(cache=str(cache))
    return CompiledPredictor(model, int(model.num_feature()))


def compile_object(model_file: Path, cache_dir: Path) -> Path:
    """The compiled object of ``model_file`` in ``cache_dir``, compiled now if absent."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache = cache_dir / cache_name()
    if not cache.exists():
        # one compiler per cache: other workers wait for it instead of compiling in parallel
        with (cache_dir / ".compile.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not cache.exists():
                _compile_in_child(model_file, cache)
    return cache


def _compile_in_child(model_file: Path, cache: Path) -> None:
    # lleaves writes its cache in place; compile to a private name, then publish by rename.
    private = cache.with_name(f".{cache.name}.{uuid.uuid4().hex}.tmp")
    command = [sys.executable, "-m", __name__, str(model_file), str(private)]
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
            command, capture_output=True, check=False, timeout=COMPILE_TIMEOUT_S
        )
        if done.returncode != 0:
            last = (done.stderr.decode(errors="replace").strip().splitlines() or [""])[-1]
            raise CompilationError(f"compiler exited with {done.returncode}: {last}")
        private.replace(cache)
    finally:
        private.unlink(missing_ok=True)


def probe_rows(model_file: Path, n_rows: int = PROBE_ROWS, seed: int = 0) -> FloatMatrix:
    """Random rows within each feature's training range, a tenth of the values missing."""
    ranges = _feature_ranges(model_file.read_text(encoding="utf-8"))
    rng = np.random.default_rng(seed)
    # an infinite bound (a feature seen only as +-inf) would make uniform() return NaN
    low = np.nan_to_num(np.array([lo for lo, _ in ranges]), posinf=1e6, neginf=-1e6)
    high = np.nan_to_num(np.array([hi for _, hi in ranges]), posinf=1e6, neginf=-1e6)
    rows = rng.uniform(low, high, size=(n_rows, len(ranges)))
    rows[rng.random(rows.shape) < 0.1] = np.nan
    return np.ascontiguousarray(rows)


def load_predictor(model_file: Path, cache_dir: Path | None, *, compiled: bool = True) -> Predictor:
    """The compiled predictor if it compiles and agrees with LightGBM, else LightGBM itself.

    A fallback is logged as a warning: the model still serves, only slower.
    """
    native = LightGBMPredictor(model_file)
    if not compiled or cache_dir is None:
        return native
    try:
        fast = compile_model(model_file, cache_dir)
        probe = probe_rows(model_file)
        gap = float(np.max(np.abs(fast.predict(probe) - native.predict(probe)), initial=0.0))
        if not gap <= PROBE_TOLERANCE:
            raise ValueError(f"compiled scores differ from LightGBM's by {gap:.3g}")
    except Exception as exc:
        log.warning(
            "compiled trees unavailable, serving with LightGBM",
            extra={"model_file": str(model_file), "error": repr(exc)},
        )
        return native
    return fast


def _feature_ranges(model_text: str) -> list[tuple[float, float]]:
    """``[min:max]`` of each feature from the model header; unused features read as 0."""
    found = _FEATURE_INFOS.search(model_text)
    if found is None:
        raise ValueError("not a LightGBM text model: no feature_infos line")
    ranges: list[tuple[float, float]] = []
    for info in found.group(1).split():
        numeric = re.fullmatch(r"\[(.+):(.+)\]", info)
        ranges.append((float(numeric[1]), float(numeric[2])) if numeric else (0.0, 0.0))
    return ranges


def main(argv: Sequence[str]) -> None:
    """Child-process entry: compile ``argv[0]`` (a model file) into the object ``argv[1]``."""
    import lleaves

    model_file, target = argv
    lleaves.Model(model_file=model_file).compile(cache=target)


if __name__ == "__main__":
    main(sys.argv[1:])
