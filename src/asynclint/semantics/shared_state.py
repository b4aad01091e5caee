"""What is shared between threads: module-level state, attributes of a module-level instance, fixed file paths.

A part of :class:`asynclint.semantics.threads.Threads`, which mixes these parts together."""
from __future__ import annotations

import typing
from typing import TYPE_CHECKING

import libcst as cst

from asynclint.semantics.thread_common import (
    _CONTAINER_CTORS,
    _PATH_ATTRS,
    _PATH_METHODS,
    CSV_WRITERS,
    OPENERS,
    PATH_FUNCS,
    _root_name,
)

if TYPE_CHECKING:
    from asynclint.semantics.threads import Threads


class SharedState:
    def module_state_root(self: Threads, target: cst.BaseExpression) -> cst.Name | None:
        """The module-level name whose state ``target`` writes, if any (``COUNTS`` for ``COUNTS[k]``;
        ``STORE`` for ``self.hits`` in a method of the class of the module-level ``STORE = Store()``)."""
        root = _root_name(target)
        if root is None:
            return None
        if root.value == "self" and not isinstance(target, cst.Name):
            func = self.ctx.current_function
            instance = self.singleton(func) if func is not None else None
            return cst.Name(instance) if instance is not None else None
        found = self.module_assignments(root)
        if found is None:
            return None
        for a in found:
            if isinstance(a.node, (cst.Import, cst.ImportFrom, cst.FunctionDef)):
                return None
        if not isinstance(target, cst.Name):
            for value in self._values_of(found):
                if self._ctor_names(value) & {"threading.local", "_threading_local.local"}:
                    return None  # attributes of a threading.local() are per thread
        return root

    def singleton(self: Threads, func: cst.FunctionDef) -> str | None:
        """For a method (first parameter ``self``) of a class the module instantiates once at
        module level (``STORE = Store()``): the instance's name, shared by every thread."""
        cls = self.owner_class(func)
        params = func.params.params
        if cls is None or not params or params[0].name.value != "self":
            return None
        found = typing.cast(list[str], self.ctx.memo(f"singletons:{id(cls)}", lambda: self._module_instances(cls.name.value)))
        return found[0] if len(found) == 1 else None

    def _module_instances(self: Threads, class_name: str) -> list[str]:
        out = []
        for stmt in self.ctx.module.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                value: cst.BaseExpression | None
                if isinstance(small, cst.Assign):
                    value, targets = small.value, [t.target for t in small.targets]
                elif isinstance(small, cst.AnnAssign):
                    value, targets = small.value, [small.target]
                else:
                    continue
                if isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == class_name:
                    out += [t.value for t in targets if isinstance(t, cst.Name)]
        return out

    def is_container(self: Threads, root: cst.Name) -> bool:
        """The module binds ``root`` only to list/set/dict displays or constructors (``+=`` mutates in place)."""
        found = [a for a in self.module_assignments(root) or [] if not isinstance(self.ctx.parent(a.node), cst.AugAssign)]
        values = self._values_of(found)
        if not values:
            return False
        for value in values:
            if isinstance(value, (cst.List, cst.Set, cst.Dict, cst.ListComp, cst.SetComp, cst.DictComp)):
                continue
            if self._ctor_names(value) & _CONTAINER_CTORS:
                continue
            return False
        return True

    def constant_path(self: Threads, expr: cst.BaseExpression | None, depth: int = 0) -> tuple[bool, str | None]:
        """(is the same path on every call, its last literal part). Literals, module constants,
        ``Path(...)``/``os.path.join`` of those; not f-strings with variables, parameters, tempfile."""
        if expr is None or depth > 8:
            return False, None
        ctx = self.ctx
        if isinstance(expr, cst.SimpleString):
            value = expr.evaluated_value
            return True, value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if isinstance(expr, cst.ConcatenatedString):
            left = self.constant_path(expr.left, depth + 1)
            right = self.constant_path(expr.right, depth + 1)
            return left[0] and right[0], right[1] or left[1]
        if isinstance(expr, cst.FormattedString):
            literal: str | None = None
            for part in expr.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    ok, inner = self.constant_path(part.expression, depth + 1)
                    if not ok:
                        return False, None
                    literal = inner or literal
                elif isinstance(part, cst.FormattedStringText):
                    literal = part.value or literal
            return True, literal
        if isinstance(expr, cst.Name):
            if expr.value == "__file__":
                return True, None
            qualified = ctx.qualified_names(expr)
            if qualified:
                last = next(iter(qualified)).rsplit(".", 1)[-1]
                return (last.isupper() or qualified <= {"os.environ"}), None
            scope = ctx.scope_of(expr)
            if scope is None:
                return False, None
            found = list(scope[expr.value])  # type: ignore[index]
            if len(found) != 1:
                return False, None
            values = self._values_of(found)
            return self.constant_path(values[0], depth + 1) if values and values[0] is not None else (False, None)
        if isinstance(expr, cst.Attribute):
            if expr.attr.value in _PATH_ATTRS:
                return self.constant_path(expr.value, depth + 1)
            qualified = ctx.qualified_names(expr)
            if qualified:
                # an imported constant (``settings.LOG_FILE``) or the environment
                last = next(iter(qualified)).rsplit(".", 1)[-1]
                return (last.isupper() or qualified <= {"os.environ"}), None
            return False, None
        if isinstance(expr, cst.Subscript):
            ok, literal = self.constant_path(expr.value, depth + 1)
            if not ok:
                return False, None
            for element in expr.slice:
                if isinstance(element.slice, cst.Index):
                    key_ok, key = self.constant_path(element.slice.value, depth + 1)
                    if not key_ok:
                        return False, None
                    literal = key or literal
            return True, literal
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Divide, cst.Add, cst.Modulo)):
            left = self.constant_path(expr.left, depth + 1)
            right = self.constant_path(expr.right, depth + 1)
            return left[0] and right[0], right[1] or left[1]
        if isinstance(expr, cst.Call):
            func = expr.func
            if ctx.qualified_names(func) & PATH_FUNCS:
                base: tuple[bool, str | None] = (True, None)
            elif isinstance(func, cst.Attribute) and func.attr.value in _PATH_METHODS:
                base = self.constant_path(func.value, depth + 1)
            else:
                return False, None
            literal = base[1]
            if not base[0]:
                return False, None
            for arg in expr.args:
                ok, inner = self.constant_path(arg.value, depth + 1)
                if not ok:
                    return False, None
                literal = inner or literal
            return True, literal
        return False, None

    def module_file(self: Threads, expr: cst.BaseExpression) -> bool:
        """``expr`` names a module-level file object (bound to ``open(...)`` at import time), or a
        ``csv.writer`` built on one."""
        if not isinstance(expr, cst.Name):
            return False
        found = self.module_assignments(expr)
        if found is None:
            return False
        for value in self._values_of(found):
            if not isinstance(value, cst.Call):
                continue
            names = self.ctx.qualified_names(value.func)
            if names & OPENERS:
                return True
            if (
                isinstance(value.func, cst.Attribute)
                and value.func.attr.value == "open"
                and self.constant_path(value.func.value)[0]
            ):
                return True
            if names & CSV_WRITERS and value.args and self.module_file(value.args[0].value):
                return True
        return False
