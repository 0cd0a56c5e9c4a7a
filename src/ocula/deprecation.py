"""Old argument names, still accepted for a while: ``@renamed(engine="model")`` lets callers
pass ``engine=`` with a DeprecationWarning that names the new keyword."""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def renamed(**old_to_new: str) -> Callable[[F], F]:
    """Accept each old keyword as its new name; giving both is an error."""

    def wrap(fn: F) -> F:
        if not old_to_new:
            return fn

        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            from .errors import InvalidArgument

            used = {}
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise InvalidArgument(f"{fn.__name__}() got {old}= and {new}=; give {new}= only "
                                              f"({old} is its old name)")
                    warnings.warn(f"{fn.__name__}(): {old}= is deprecated; use {new}=", DeprecationWarning,
                                  stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
                    used[old] = new
            try:
                return fn(*args, **kwargs)
            except InvalidArgument as e:
                # name the keyword the caller wrote, not only its new name
                for old, new in used.items():
                    if new in str(e):
                        raise InvalidArgument(f"{e} (passed as {old}=, its old name)") from None
                raise

        inner.renamed = dict(old_to_new)  # type: ignore[attr-defined]
        return inner  # type: ignore[return-value]

    return wrap
