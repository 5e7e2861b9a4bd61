"""Scorers: the lines of a scorecard, and the registry that names them.

A **scorer** is anything with a ``name`` and ``score(conversation) ->
ScoreResult`` (the :class:`~kefu_standards.typing.Scorer` Protocol); no base
class is needed.  :class:`ScoreResult` carries a score in ``[0, 1]`` (1 = best)
or ``None`` (N/A) with a reason, and the evidence behind it.

- :func:`make_scorer` turns a plain function ``fn(conversation, **kwargs)``
  into a scorer, with a repr that reads like the call.
- :func:`get_scorer` hands out a *fresh copy* of a built-in or plug-in scorer
  by name; :func:`get_scorer_names` lists the names.  There is no public
  mutable registry.
- Third-party packages add scorers through the ``kefu_standards.scorers``
  entry-point group (``name = "package.module:object"``, where the object is a
  scorer instance or a zero-argument factory/class returning one).  Entry points
  are discovered on the first registry lookup, never at import, and a plug-in
  is loaded only when it is asked for, so a broken plug-in cannot break
  anything else.
"""

from __future__ import annotations

import copy
import re
import threading
import warnings
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any

import attrs

from ._frozendict import FrozenDict
from .evidence import ScoreResult
from .exceptions import ConfigError, InputTypeError, KefuWarning, UnknownNameError
from .model import Conversation
from .typing import Scorer

__all__ = [
    "ENTRY_POINT_GROUP",
    "ScoreResult",
    "Scorer",
    "as_score_result",
    "get_scorer",
    "get_scorer_names",
    "make_scorer",
]

#: The entry-point group third-party packages use to register scorers.
ENTRY_POINT_GROUP = "kefu_standards.scorers"

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def as_score_result(value: object, scorer_name: str = "<scorer>") -> ScoreResult:
    """Coerce what a scorer returned into a validated :class:`ScoreResult`.

    Accepts a ``ScoreResult``, a number in ``[0, 1]``, or any object with
    ``score`` (and optionally ``evidence``, ``reason``, ``details``)
    attributes.  Raises :class:`~kefu_standards.exceptions.ConfigError`
    naming *scorer_name* when the value breaks the rules (out of range, N/A
    without a reason, not a result at all).
    """
    if isinstance(value, ScoreResult):
        return value
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return ScoreResult(score=value)
        if value is None:
            msg = "returned None; return ScoreResult.na(reason) for N/A"
            raise ConfigError(msg)
        if not hasattr(value, "score"):
            msg = f"returned a {type(value).__name__}, not a ScoreResult or a number in [0, 1]"
            raise ConfigError(msg)
        return ScoreResult(
            score=value.score,
            evidence=getattr(value, "evidence", ()),
            reason=getattr(value, "reason", ""),
            details=getattr(value, "details", None),
        )
    except ConfigError as exc:
        raise ConfigError(f"scorer {scorer_name!r}: {exc}") from None


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        msg = (
            f"scorer name must be a non-empty identifier (letters, digits, '_', '.', '-', "
            f"not starting with a digit), got {name!r}"
        )
        raise ConfigError(msg)
    return name


# -- make_scorer ---------------------------------------------------------------
def _callable_name(fn: Callable[..., Any]) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or fn)


@attrs.frozen(slots=True, repr=False)
class _FunctionScorer:
    """A scorer around a plain function; built by :func:`make_scorer`."""

    fn: Callable[..., Any]
    name: str
    kwargs: FrozenDict

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Call the function on *conversation* and validate what it returned."""
        return as_score_result(self.fn(conversation, **self.kwargs), self.name)

    def __repr__(self) -> str:
        args = [_callable_name(self.fn)]
        if self.name != getattr(self.fn, "__name__", None):
            args.append(f"name={self.name!r}")
        args.extend(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"make_scorer({', '.join(args)})"


def make_scorer(fn: Callable[..., Any], *, name: str | None = None, **kwargs: Any) -> Scorer:
    """Make a scorer from a plain function ``fn(conversation, **kwargs)``.

    The function returns a :class:`ScoreResult`, or a bare number in
    ``[0, 1]`` (1 = best).  *name* defaults to the function's ``__name__``
    (required for lambdas).  Extra keyword arguments are stored and passed on
    every call, like :func:`functools.partial`; the scorer's repr reads like the
    call that made it.  Use a module-level function if the scorer must be
    picklable.

    >>> def short_replies(conversation, limit=30):
    ...     agent = [m for m in conversation if m.role == "agent"]
    ...     if not agent:
    ...         return ScoreResult.na("no agent message")
    ...     return sum(len(m.text) <= limit for m in agent) / len(agent)
    >>> make_scorer(short_replies, limit=20)
    make_scorer(short_replies, limit=20)
    """
    if not callable(fn):
        raise InputTypeError(f"make_scorer needs a callable, got {type(fn).__name__}")
    if name is None:
        name = getattr(fn, "__name__", None)
        if name is None or not _NAME_RE.match(name):
            msg = (
                f"make_scorer({_callable_name(fn)}) needs name=...: the function has no usable name"
            )
            raise ConfigError(msg)
    return _FunctionScorer(fn, _check_name(name), FrozenDict(kwargs))


# -- registry ------------------------------------------------------------------
def _builtin_factories() -> dict[str, Callable[..., Scorer]]:
    from .scorers import BUILTIN_SCORERS

    return dict(BUILTIN_SCORERS)


_plugins: dict[str, metadata.EntryPoint] | None = None
_plugins_lock = threading.Lock()


def _reset_plugins() -> None:
    """Forget discovered entry points (for tests that fake them)."""
    global _plugins  # noqa: PLW0603 - a private, lock-protected cache
    with _plugins_lock:
        _plugins = None


def _discover_plugins() -> dict[str, metadata.EntryPoint]:
    global _plugins  # noqa: PLW0603 - a private, lock-protected cache
    if _plugins is not None:
        return _plugins
    with _plugins_lock:
        if _plugins is not None:
            return _plugins
        found: dict[str, metadata.EntryPoint] = {}
        try:
            eps = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
        except Exception as exc:
            warnings.warn(
                f"could not list the {ENTRY_POINT_GROUP!r} entry points "
                f"({type(exc).__name__}: {exc}); only built-in scorers are available",
                KefuWarning,
                stacklevel=3,
            )
            eps = []
        builtins = _builtin_factories()
        for ep in eps:
            if ep.name in builtins:
                warnings.warn(
                    f"scorer plugin {ep.name!r} ({ep.value}) is ignored: it has the name of "
                    "a built-in scorer",
                    KefuWarning,
                    stacklevel=3,
                )
            elif ep.name in found:
                warnings.warn(
                    f"scorer plugin {ep.name!r} ({ep.value}) is ignored: the name is already "
                    f"registered by {found[ep.name].value}",
                    KefuWarning,
                    stacklevel=3,
                )
            else:
                found[ep.name] = ep
        _plugins = found
        return found


def _load_plugin(ep: metadata.EntryPoint, params: Mapping[str, Any]) -> Scorer:
    where = f"scorer plugin {ep.name!r} (entry point {ep.value!r} in group {ENTRY_POINT_GROUP!r})"
    try:
        obj = ep.load()
    except Exception as exc:
        raise ConfigError(f"{where} failed to load: {type(exc).__name__}: {exc}") from exc
    if isinstance(obj, Scorer) and not isinstance(obj, type):
        if params:
            msg = f"{where} is a scorer instance and takes no parameters, got {sorted(params)}"
            raise ConfigError(msg)
        return copy.deepcopy(obj)
    if not callable(obj):
        raise ConfigError(f"{where} is a {type(obj).__name__}, not a scorer or a scorer factory")
    try:
        made = obj(**params)
    except Exception as exc:
        raise ConfigError(f"{where} failed to build: {type(exc).__name__}: {exc}") from exc
    if not isinstance(made, Scorer):
        msg = f"{where} built a {type(made).__name__}, which has no 'name' and 'score' members"
        raise ConfigError(msg)
    return made


def get_scorer_names() -> list[str]:
    """Return the names :func:`get_scorer` accepts: built-ins and plug-ins, sorted."""
    return sorted({*_builtin_factories(), *_discover_plugins()})


def get_scorer(scorer: str | Scorer, /, **params: Any) -> Scorer:
    """Return a fresh scorer by name, or a copy of a scorer object.

    *params* are passed to the scorer's factory (built-ins take keyword
    options, e.g. ``get_scorer("communication", sla_s=180)``).  The object
    returned is a new copy each time: changing it never changes the registry.
    Raises :class:`~kefu_standards.exceptions.UnknownNameError` listing the
    valid names (see :func:`get_scorer_names`), and
    :class:`~kefu_standards.exceptions.ConfigError` naming the plug-in when a
    plug-in fails to load.
    """
    if not isinstance(scorer, str):
        if not isinstance(scorer, Scorer):
            msg = f"expected a scorer name or an object with 'name' and 'score', got {scorer!r}"
            raise ConfigError(msg)
        if params:
            raise ConfigError("parameters can only be given with a scorer *name*")
        return copy.deepcopy(scorer)
    builtins = _builtin_factories()
    factory = builtins.get(scorer)
    if factory is not None:
        try:
            return factory(**params)
        except TypeError as exc:
            raise ConfigError(f"bad parameters for scorer {scorer!r}: {exc}") from None
    plugins = _discover_plugins()
    ep = plugins.get(scorer)
    if ep is None:
        raise UnknownNameError("scorer", scorer, sorted({*builtins, *plugins}))
    return _load_plugin(ep, params)
