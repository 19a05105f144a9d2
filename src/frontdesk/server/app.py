"""The application factory: one server for the integration API, the answering API, the dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from frontdesk import __version__
from frontdesk.access.api import router as access_router
from frontdesk.answering.api import router as answering_router
from frontdesk.answering.desk.api import router as answering_desk_router
from frontdesk.answering.desk.delivery import WebhookPump
from frontdesk.answering.staff_api import router as answering_staff_router
from frontdesk.audit.api import router as audit_router
from frontdesk.businesses.api import router as business_router
from frontdesk.context import AppContext
from frontdesk.credentials.api import router as credentials_router
from frontdesk.credentials.health import WarningLoop
from frontdesk.delivery.api import router as delivery_router
from frontdesk.engagement.checkins_api import router as checkins_router
from frontdesk.engagement.outbox_api import router as outbox_router
from frontdesk.engagement.retention import RetentionLoop
from frontdesk.engagement.sending import ReviewSender
from frontdesk.engagement.unsubscribe_api import router as unsubscribe_router
from frontdesk.integrations.api import router as integration_router
from frontdesk.logs import configure_logging
from frontdesk.server.errors import install_error_handlers
from frontdesk.server.gc_tuning import freeze_startup_heap
from frontdesk.server.request_log import RequestLogMiddleware
from frontdesk.settings import Settings
from frontdesk.sync.api import router as sync_router
from frontdesk.sync.worker import SyncWorker
from frontdesk.web.mount import mount_dashboard


def create_app(settings: Settings, *, context: AppContext | None = None) -> FastAPI:
    """Build the ASGI app. With ``context`` given (tests, demo) the caller owns its lifetime."""
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if context is not None:
            yield
            return
        ctx = await AppContext.open(settings)
        app.state.context = ctx
        freeze_startup_heap()
        webhook_pump = WebhookPump(ctx)  # pushes ticket status changes to answering services
        await webhook_pump.start()
        # The embedded runner (unless --no-worker). With procrastinate, `frontdesk worker`
        # processes run the jobs and the periodic dispatcher; this node only defers into them
        # (run now, operator requeue) and never ticks a dispatcher of its own.
        deferring = settings.sync.worker or settings.jobs.backend == "procrastinate"
        worker = SyncWorker(ctx, sender=ReviewSender(ctx)) if deferring else None
        if worker is not None:
            await worker.start()
            app.state.sync_worker = worker
        warnings = WarningLoop(ctx)  # credential expiry warnings: audit + support e-mail
        await warnings.start()
        # patient-data retention: procrastinate workers run it as the retention_purge job
        purge = RetentionLoop(ctx) if worker is not None and worker.runs_jobs else None
        if purge is not None:
            await purge.start()
        try:
            yield
        finally:
            if purge is not None:
                await purge.stop()
            await warnings.stop()
            if worker is not None:
                await worker.stop()
            await webhook_pump.stop()
            await ctx.close()

    app = FastAPI(
        title="frontdesk",
        version=__version__,
        description="Integration hub for medical practices: EHR review requests and "
        "answering-service intake.",
        lifespan=lifespan,
    )
    if context is not None:
        app.state.context = context
    install_error_handlers(app)
    if settings.access_log:
        app.add_middleware(RequestLogMiddleware)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness: answers without touching the database."""
        return {"status": "ok"}

    for router in (
        business_router,
        access_router,
        audit_router,
        integration_router,
        answering_router,
        answering_staff_router,
        answering_desk_router,
        delivery_router,
        unsubscribe_router,
        sync_router,
        checkins_router,
        outbox_router,
        credentials_router,
    ):
        app.include_router(router)
    mount_dashboard(app)
    return app
