"""Hot swap: the server follows the registry's promoted model without a restart or a failed request.

A :class:`ModelHolder` keeps the serving model; replacing it is a single reference assignment,
which Python makes atomic, so a request sees the old model or the new one, never a mix. A
:class:`ModelWatcher` thread polls the registry's pointer and loads (and compiles, if no cached
object exists) a newly promoted version off the request path, then swaps. A version that fails
to load leaves the old model serving and is logged once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from palate.ranking.learned import LoadedModel, load_model
from palate.ranking.model_store import ModelStore, ModelVersion

DEFAULT_POLL_INTERVAL_S = 1.0

log = logging.getLogger("palate.ranking.hot_swap")


class ModelHolder:
    """The serving model; a :class:`~palate.ranking.learned.ModelSource` for the scorer."""

    __slots__ = ("_current",)

    def __init__(self, initial: LoadedModel | None = None) -> None:
        self._current = initial

    @property
    def current(self) -> LoadedModel | None:
        """The model to use for the next request."""
        return self._current

    @property
    def version(self) -> str | None:
        """The serving version's name, or None before the first load."""
        loaded = self._current
        return None if loaded is None else loaded.version.version

    def swap(self, loaded: LoadedModel) -> LoadedModel | None:
        """Serve ``loaded`` from the next request on; returns the model it replaces."""
        previous, self._current = self._current, loaded
        return previous


class ModelWatcher:
    """Polls the registry's pointer for ``name`` and swaps promoted versions into the holder."""

    def __init__(
        self,
        store: ModelStore,
        name: str,
        holder: ModelHolder,
        *,
        interval_s: float = DEFAULT_POLL_INTERVAL_S,
        loader: Callable[[ModelVersion], LoadedModel] = load_model,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.store = store
        self.name = name
        self.holder = holder
        self.interval_s = interval_s
        self.loader = loader
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed: str | None = None

    def poll(self) -> bool:
        """Load and swap in the promoted version if it is not the one serving; True if swapped.

        Call it once before :meth:`start` to begin serving with the current model.
        """
        wanted = self.store.promotions(self.name).current
        if wanted is None or wanted == self.holder.version:
            return False
        try:
            loaded = self.loader(self.store.get(self.name, wanted))
        except Exception:
            if self._failed != wanted:  # retried every poll, logged once per version
                log.exception(
                    "model failed to load; the previous model keeps serving",
                    extra={"model": f"{self.name}@{wanted}", "serving": self.holder.version},
                )
            self._failed = wanted
            return False
        previous = self.holder.swap(loaded)
        self._failed = None
        log.info(
            "model swapped",
            extra={
                "model": loaded.version.label,
                "backend": loaded.predictor.backend,
                "previous": None if previous is None else previous.version.version,
            },
        )
        return True

    def start(self) -> None:
        """Poll in a daemon thread every ``interval_s`` until :meth:`stop`."""
        if self._thread is not None:
            raise RuntimeError("watcher already started")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"model-watcher-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop polling; waits for a load in progress to finish (up to ``timeout_s``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def __enter__(self) -> ModelWatcher:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:  # a registry hiccup must not kill the watcher
                log.exception("polling the model registry failed", extra={"model": self.name})
            self._stop.wait(self.interval_s)
