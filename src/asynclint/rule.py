"""The rule contract: Rule base class and the Finding, Fix, Example and Safety values it produces."""
from __future__ import annotations

import inspect
import re
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import libcst as cst

from asynclint.model import Finding, Fix, ImportSpec, Safety
from asynclint.specs import COROUTINE_DEF, could_match

if TYPE_CHECKING:
    from asynclint.config import Config
    from asynclint.semantics import Context

__all__ = ["COROUTINE_DEF", "Example", "Finding", "Fix", "ImportSpec", "Rule", "Safety"]



@dataclass(frozen=True)
class Example:
    """Code shown in the docs and run by the test suite.

    Expected findings are written as trailing ``# CODE`` comments (the fixture syntax);
    ``fixed`` is the expected text after ``--fix --unsafe-fixes`` when the example is bad and fixable.
    """

    code: str
    fixed: str | None = None

    @property
    def source(self) -> str:
        return textwrap.dedent(self.code).lstrip("\n")

    @property
    def fixed_source(self) -> str | None:
        return None if self.fixed is None else textwrap.dedent(self.fixed).lstrip("\n")


#: visitor class -> the names of its visitor methods (see _get_visitors_once_per_class)
_VISITOR_NAMES: dict[type, tuple[str, ...]] = {}
_libcst_get_visitors = cst.BatchableCSTVisitor.get_visitors


def _get_visitors_once_per_class(self: cst.BatchableCSTVisitor) -> Any:
    """libcst's batched traversal asks every visitor (each rule, and the metadata providers
    ``ScopeProvider``, ``ParentNodeProvider``, ...) for its ``visit_*``/``leave_*`` methods with
    ``inspect.getmembers`` over the ~1,200 attributes of a visitor, for every file: half the time
    of a run over many small files. The names depend only on the class: look them up once per
    class, and bind them to the instance each time (same result as libcst's own method)."""
    cls = type(self)
    names = _VISITOR_NAMES.get(cls)
    if names is None:
        names = tuple(_libcst_get_visitors(self))
        _VISITOR_NAMES[cls] = names
    return {name: getattr(self, name) for name in names}


cst.BatchableCSTVisitor.get_visitors = _get_visitors_once_per_class  # type: ignore[method-assign]


class Rule(cst.BatchableCSTVisitor):
    """Base class of every rule: one subclass per file in ``asynclint/rules``.

    Subclasses set ``code``, ``slug``, ``message`` (a ``str.format`` template with named fields),
    a docstring with the fixed sections, and ``examples``. They implement ``visit_*``/``leave_*``
    methods, ask ``self.ctx`` for shared facts and call ``self.report``.
    """

    code: ClassVar[str] = ""
    slug: ClassVar[str] = ""
    message: ClassVar[str] = ""
    examples: ClassVar[Sequence[Example]] = ()
    fix_safety: ClassVar[Safety | None] = None
    #: on unless deselected; False: off by default, enabled only by naming the full code in
    #: ``select``/``extend-select`` (a prefix such as ``ASL`` or ``ASL1`` does not enable it)
    default: ClassVar[bool] = True
    #: cheap byte markers: the rule cannot match a file that contains none of them.
    markers: ClassVar[tuple[bytes | re.Pattern[bytes], ...]] = (b"async",)
    #: a marker the file must contain as well: bytes, or a pattern (``COROUTINE_DEF`` for rules
    #: about coroutine bodies: no ``async def``, no coroutine body)
    requires: ClassVar[bytes | re.Pattern[bytes] | None] = None
    #: the ``ast`` gate that must admit the file as well (see :mod:`asynclint.gate`); None: none
    gate: ClassVar[str | None] = None

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx

    @classmethod
    def markers_for_config(cls, config: Config) -> tuple[bytes | re.Pattern[bytes], ...]:
        """The prefilter markers under ``config`` (configured names can add markers)."""
        return cls.markers

    @classmethod
    def could_match(cls, source: bytes, config: Config) -> bool:
        """Cheap byte test before parsing: False when this rule cannot report anything in ``source``."""
        return could_match(cls.requires, cls.markers_for_config(config), source)

    def report(self, node: cst.CSTNode, fix: Fix | None = None, **fields: str) -> None:
        self.ctx.add_finding(self, node, self.message.format(**fields), fix)

    @classmethod
    def summary(cls) -> str:
        doc = inspect.cleandoc(cls.__doc__ or "")
        return doc.split("\n\n", 1)[0].replace("\n", " ")
