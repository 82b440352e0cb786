"""The FastAPI application factory."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI

from tollgate import __version__
from tollgate.api.answers import EVERY_ROUTE, refusals
from tollgate.api.deps import Runtime
from tollgate.api.errors import install_error_handlers
from tollgate.clock import Clock, SystemClock
from tollgate.config import Settings
from tollgate.db import Database


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    from tollgate.api.routes import (
        accounts,
        api_keys,
        authorizations,
        credit,
        price_lists,
        reservations,
        usage,
    )

    settings = settings or Settings.from_env()
    database = database or Database(settings.database_url)
    app = FastAPI(
        title="Tollgate",
        version=__version__,
        description="Prepaid credit and usage billing for communication platforms.",
        openapi_url="/openapi.json",
        docs_url=None,  # served by _install_docs, from the package rather than a CDN
        redoc_url=None,
        # Every refusal has one shape (tollgate.api.errors); its 422 also stands in for
        # FastAPI's own, which Tollgate never answers. Routers add their own (402, 409).
        responses=refusals(*EVERY_ROUTE),
    )
    app.state.runtime = Runtime(database=database, clock=clock or SystemClock(), settings=settings)
    install_error_handlers(app)
    _install_operations(app, settings)
    _install_docs(app)
    app.include_router(accounts.router)
    app.include_router(credit.router)
    app.include_router(reservations.router)
    app.include_router(price_lists.router)
    app.include_router(usage.router)
    app.include_router(authorizations.router)
    app.include_router(api_keys.router)
    return app


def _install_operations(app: FastAPI, settings: Settings) -> None:
    """Probes, body size limits, request ids and the access log."""
    from tollgate.api.middleware import BodyIsJson, LimitRequestBody, RequestContext
    from tollgate.api.routes import health

    app.add_middleware(BodyIsJson)
    app.add_middleware(
        LimitRequestBody,
        max_bytes=settings.max_body_bytes,
        larger={"/v1/price-lists/": settings.max_price_list_body_bytes},
    )
    # Added last, so outermost: even a 413 or a 500 carries the request id.
    app.add_middleware(RequestContext)
    app.include_router(health.router)


DOCS_ASSETS = "/docs-assets"


def _install_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc with their scripts served from the fastapi-offline
    package, so that they work without network access."""
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    static = resources.files("fastapi_offline") / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(static)), name="docs-assets")
    title = f"{app.title} API"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=title,
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=title,
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
