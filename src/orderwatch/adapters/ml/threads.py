"""How many OpenMP threads the delay model's estimators use (D2 speed): one.

scikit-learn's gradient boosting starts one OpenMP thread per core for every fit and predict.
On the 2-core machines OrderWatch runs on, shared with the web app, the worker and the
database, those threads spin waiting for each other: training on the full Olist history took
575 s with the default threads and 183 s with one, measured under the same load (see
docs/models.md). One thread is also what keeps a single-order re-score in milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import cache, wraps
from typing import Any, ParamSpec, TypeVar

from threadpoolctl import ThreadpoolController

MODEL_THREADS = 1
_P = ParamSpec("_P")
_R = TypeVar("_R")


@cache
def _controller() -> ThreadpoolController:
    # Built on first use, after scikit-learn has loaded its OpenMP runtime.
    return ThreadpoolController()


def limited() -> AbstractContextManager[Any]:
    """A context in which the estimators use ``MODEL_THREADS`` OpenMP threads (~0.1 ms to enter)."""
    context: AbstractContextManager[Any] = _controller().limit(limits=MODEL_THREADS, user_api="openmp")
    return context


def single_threaded(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``function`` inside :func:`limited`."""

    @wraps(function)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with limited():
            return function(*args, **kwargs)

    return run
