"""Recognising framework handlers from decorators: Azure Functions, FastAPI/Starlette, Flask, Django."""
from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from asynclint.semantics import Context


@dataclass(frozen=True)
class Registration:
    """How a function is handed to a framework or a thread pool.

    ``framework`` names the runtime ("Azure Functions", "FastAPI", ...), ``how`` the construct
    (``@app.route``), ``node`` the node whose line messages cite, and ``pool`` the concurrency
    model in words (used by ASL3xx messages).
    """

    framework: str
    how: str
    node: cst.CSTNode = field(repr=False, compare=False)
    pool: str = ""


AZURE_APPS = frozenset(
    {
        "azure.functions.FunctionApp",
        "azure.functions.Blueprint",
        "azure.functions.AsgiFunctionApp",
        "azure.functions.WsgiFunctionApp",
        "azure.functions.decorators.FunctionApp",
        "azure.functions.decorators.function_app.FunctionApp",
        "azure.functions.decorators.function_app.Blueprint",
    }
)
FASTAPI_APPS = frozenset({"fastapi.FastAPI", "fastapi.APIRouter", "fastapi.routing.APIRouter", "fastapi.applications.FastAPI"})
STARLETTE_APPS = frozenset({"starlette.applications.Starlette", "starlette.routing.Router"})
FLASK_APPS = frozenset({"flask.Flask", "flask.Blueprint", "flask.app.Flask", "flask.blueprints.Blueprint"})

FASTAPI_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "trace", "api_route", "websocket"})
FLASK_VERBS = frozenset({"route", "get", "post", "put", "patch", "delete"})
#: Flask request hooks and error handlers: they run on the request's thread like the views
FLASK_HOOKS = frozenset(
    {
        "before_request",
        "after_request",
        "teardown_request",
        "teardown_appcontext",
        "errorhandler",
        "register_error_handler",
        "before_app_request",
        "after_app_request",
        "teardown_app_request",
        "app_errorhandler",
        "url_value_preprocessor",
        "url_defaults",
        "context_processor",
        "app_context_processor",
    }
)
#: decorators of Azure Functions apps and blueprints that register a function
AZURE_DECORATORS = frozenset(
    {
        "route",
        "function_name",
        "schedule",
        "timer_trigger",
        "queue_trigger",
        "blob_trigger",
        "event_hub_message_trigger",
        "service_bus_queue_trigger",
        "service_bus_topic_trigger",
        "event_grid_trigger",
        "cosmos_db_trigger",
        "http_type",
    }
)
DJANGO_VIEW_DECORATORS = frozenset(
    {
        "rest_framework.decorators.api_view",
        "django.views.decorators.http.require_http_methods",
        "django.views.decorators.http.require_GET",
        "django.views.decorators.http.require_POST",
        "django.views.decorators.http.require_safe",
    }
)

AZURE_POOL = "the Azure Functions worker thread pool (PYTHON_THREADPOOL_THREAD_COUNT)"
FASTAPI_POOL = "the FastAPI/Starlette thread pool for sync endpoints"
FLASK_POOL = "the WSGI server's threads (gunicorn --threads, the Flask development server)"
DJANGO_POOL = "the WSGI server's threads (gunicorn --threads, runserver)"


def _app_method(ctx: Context, func: cst.BaseExpression) -> tuple[str, str] | None:
    """For ``app.route`` where ``app = Ctor(...)``: (constructor qualified name, method name)."""
    if not isinstance(func, cst.Attribute):
        return None
    for base in ctx.instance_names(func.value):
        if base.endswith("()") and "()" not in base[:-2]:
            return base[:-2], func.attr.value
    return None


def source_name(node: cst.BaseExpression) -> str:
    """How messages show a callee or decorator: ``app.route``, ``make_app().route``, ``...`` otherwise."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{source_name(node.value)}.{node.attr.value}"
    if isinstance(node, cst.Call):
        return f"{source_name(node.func)}()"
    return "..."


def _imported_azure_app(ctx: Context, expr: cst.BaseExpression) -> bool:
    """``expr`` is a name imported from another module of the app (``from .blueprints import bp``)
    in a module that imports ``azure.functions``: a blueprint or app built elsewhere."""
    if not isinstance(expr, cst.Name):
        return False
    if not any(key.removeprefix("from:").startswith("azure.functions") for key in ctx.imports):
        return False
    return any(isinstance(node, (cst.Import, cst.ImportFrom)) for node in ctx.definitions(expr))


def _imported_app(ctx: Context, expr: cst.BaseExpression) -> str | None:
    """For a name imported from another module of the project (``from .app import app``): the
    constructor that module calls to build it (``flask.Flask``)."""
    if not isinstance(expr, cst.Name) or not ctx.path:
        return None
    from asynclint.semantics import project

    for qualified in ctx.qualified_names(expr):
        if "." in qualified:
            ctor = project.constructor_of(ctx.path, qualified)
            if ctor is not None:
                return ctor
    return None


def decorator_registration(ctx: Context, func: cst.FunctionDef) -> Registration | None:
    """The framework registration made by one of ``func``'s decorators, if any."""
    for decorator in func.decorators:
        expr = decorator.decorator
        target = expr.func if isinstance(expr, cst.Call) else expr
        how = f"@{source_name(target)}"
        found = _app_method(ctx, target)
        if found is None and isinstance(target, cst.Attribute):
            ctor = _imported_app(ctx, target.value)
            found = (ctor, target.attr.value) if ctor is not None else None
        if found is not None:
            ctor, method = found
            if ctor in AZURE_APPS:
                return Registration("Azure Functions", how, decorator, AZURE_POOL)
            if ctor in FASTAPI_APPS and method in FASTAPI_VERBS:
                return Registration("FastAPI", how, decorator, FASTAPI_POOL)
            if ctor in STARLETTE_APPS and method in ("route", "websocket_route"):
                return Registration("Starlette", how, decorator, FASTAPI_POOL)
            if ctor in FLASK_APPS and method in FLASK_VERBS:
                return Registration("Flask", how, decorator, FLASK_POOL)
            if ctor in FLASK_APPS and method in FLASK_HOOKS:
                return Registration("Flask", how, decorator, FLASK_POOL)
        if isinstance(target, cst.Attribute) and target.attr.value in AZURE_DECORATORS and _imported_azure_app(ctx, target.value):
            return Registration("Azure Functions", how, decorator, AZURE_POOL)
        names = ctx.qualified_names(target)
        if names & DJANGO_VIEW_DECORATORS:
            return Registration("Django", how, decorator, DJANGO_POOL)
    return None


def azure_v1_main(ctx: Context, func: cst.FunctionDef) -> Registration | None:
    """The Azure Functions v1 programming model: a module-level ``main`` taking ``func.*`` bindings."""
    if func.name.value != "main" or ctx.current_function is not None or ctx.enclosing_class is not None:
        return None
    for param in (*func.params.params, *func.params.posonly_params, *func.params.kwonly_params):
        if param.annotation is None:
            continue
        if any(n.startswith("azure.functions.") for n in ctx.qualified_names(param.annotation.annotation)):
            return Registration("Azure Functions", "the v1 `main` entry point", func.name, AZURE_POOL)
    return None


def handler_registration(ctx: Context, func: cst.FunctionDef) -> Registration | None:
    """A framework registration of ``func`` by decorator or by the Azure v1 ``main`` convention.

    Call it while visiting ``func`` (the scope stack then describes where ``func`` is defined)."""
    return decorator_registration(ctx, func) or azure_v1_main(ctx, func)
