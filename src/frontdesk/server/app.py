"""The application factory: one server for the integration API, the answering API, the dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from frontdesk import __version__
from frontdesk.access.api import router as access_router
from frontdesk.activations.api import router as activations_router
from frontdesk.alerts.api import router as alerts_router
from frontdesk.answering.api import router as answering_router
from frontdesk.answering.desk.api import router as answering_desk_router
from frontdesk.answering.staff_api import router as answering_staff_router
from frontdesk.audit.api import router as audit_router
from frontdesk.businesses.api import router as business_router
from frontdesk.composition import Process, Role, build_process, serving_role
from frontdesk.connectors.fhir.http_jwks import router as fhir_jwks_router
from frontdesk.context import AppContext
from frontdesk.credentials.api import router as credentials_router
from frontdesk.delivery.api import router as delivery_router
from frontdesk.delivery.preview_api import router as preview_router
from frontdesk.delivery.sms.webhooks_api import router as twilio_webhooks_router
from frontdesk.delivery.tracking.api import router as links_router
from frontdesk.delivery.webhook.api import router as webhook_endpoints_router
from frontdesk.engagement.checkins_api import router as checkins_router
from frontdesk.engagement.outbox_api import router as outbox_router
from frontdesk.engagement.suppression_api import router as suppression_router
from frontdesk.engagement.unsubscribe_api import router as unsubscribe_router
from frontdesk.gc_tuning import freeze_startup_heap
from frontdesk.integrations.api import router as integration_router
from frontdesk.logs import configure_logging
from frontdesk.server.docs import router as docs_router
from frontdesk.server.errors import document_error_responses, install_error_handlers
from frontdesk.server.metrics import router as metrics_router
from frontdesk.server.request_log import RequestLogMiddleware
from frontdesk.server.security_headers import SecurityHeadersMiddleware, wants_hsts
from frontdesk.settings import Settings
from frontdesk.sync.api import router as sync_router
from frontdesk.usage.api import router as usage_router
from frontdesk.web.mount import mount_dashboard


def create_app(
    settings: Settings,
    *,
    context: AppContext | None = None,
    process: Process | None = None,
    demo: bool = False,
) -> FastAPI:
    """Build the ASGI app.

    Without ``context``/``process`` the app opens its context at start-up and builds its
    process for ``serve``'s role (:func:`~frontdesk.composition.serving_role`). With a
    ``process`` (or a ``context``, around which an API-role process is built) the caller
    owns their lifetime (tests, the demo's seeding).
    """
    configure_logging(settings)
    if process is None and context is not None:
        process = build_process(context, Role.API)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if process is not None:
            yield
            return
        ctx = await AppContext.open(settings)
        own = build_process(ctx, serving_role(settings, demo=demo))
        app.state.context = own
        freeze_startup_heap()
        await own.start()
        try:
            yield
        finally:
            await own.stop()
            await ctx.close()

    app = FastAPI(
        title="frontdesk",
        version=__version__,
        description="Integration hub for medical practices: EHR review requests and "
        "answering-service intake.",
        lifespan=lifespan,
        docs_url=None,  # served offline by server/docs.py
        redoc_url=None,
    )
    if process is not None:
        app.state.context = process
    install_error_handlers(app)
    app.add_middleware(SecurityHeadersMiddleware, hsts=wants_hsts(settings.public_url))
    metered = settings.metrics.token is not None
    if settings.access_log or metered:
        app.add_middleware(RequestLogMiddleware, log_requests=settings.access_log, metered=metered)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness: answers without touching the database."""
        return {"status": "ok"}

    for router in (
        business_router,
        access_router,
        audit_router,
        alerts_router,
        integration_router,
        answering_router,
        answering_staff_router,
        answering_desk_router,
        delivery_router,
        preview_router,
        twilio_webhooks_router,
        links_router,
        webhook_endpoints_router,
        unsubscribe_router,
        suppression_router,
        sync_router,
        checkins_router,
        outbox_router,
        credentials_router,
        activations_router,
        fhir_jwks_router,
        usage_router,
        metrics_router,
    ):
        app.include_router(router)
    document_error_responses(app)
    app.include_router(docs_router)
    mount_dashboard(app)
    return app
