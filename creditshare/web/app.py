"""The console's ASGI app: Jinja2 pages (server-rendered, no script) and the JSON API under /api.

FastAPI because the API's OpenAPI schema comes from the same typed routes the tests fuzz, and Jinja2 pages
because a member's console is forms and tables: nothing to build, nothing to download, and the pages work with
scripts off. Charts are SVG drawn on the server.

Safety of a console that signs: it binds to loopback by default and answers only the host names it was started
for (a DNS-rebinding page cannot reach it); each form carries a CSRF token bound to a cookie of this browser
(HMAC with a secret of this process, SameSite=Strict); the API takes the member's bearer token
(creditshare.web.api). Errors are one line on a 4xx page or a JSON {"error": ...}, never a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from creditshare.bindings.data_bus import KNOWN_PURPOSES, parse_scope
from creditshare.core.errors import (
    ChainError,
    ConfigError,
    CreditShareError,
    DetailsUnavailable,
    InvalidInput,
    KeyUnavailable,
    TransactionRejected,
)
from creditshare.core.ids import digest_from_cid, subject_id, to_hex
from creditshare.domain import evidence
from creditshare.reports.freight import bar_svg
from creditshare.web import api
from creditshare.web.charts import history_svg, iso_day
from creditshare.web.console import MAX_PAGE, Console, Forbidden, NotFound
from creditshare.web.text import reason_text
from scoring.errors import ScoringError

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
CSRF_COOKIE = "creditshare_csrf"


def yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def status_of(err: Exception) -> int:
    """The HTTP status of a library error: what the user named is missing (404), may not be done (403), was
    refused by the contract (409), the node is unreachable (503), else bad input (400)."""
    if isinstance(err, NotFound):
        return 404
    if isinstance(err, api.Unauthorized):
        return 401
    if isinstance(err, Forbidden | DetailsUnavailable):
        return 403
    if isinstance(err, TransactionRejected):
        return 409
    if isinstance(err, ChainError):
        return 503
    if isinstance(err, KeyUnavailable):
        return 500
    if isinstance(err, InvalidInput | ConfigError | ScoringError | CreditShareError):
        return 400
    return 500


def message_of(err: Exception) -> str:
    if isinstance(err, CreditShareError | ScoringError):
        details = getattr(err, "errors", None)
        return str(err) + ("".join(f"\n  {d}" for d in details) if details else "")
    return f"unexpected {type(err).__name__}: this is a bug in creditshare; the console's log has the traceback"


def create_app(console: Console, api_token: str, allowed_hosts: list[str] | None = None) -> FastAPI:
    app = FastAPI(
        title="CreditShare member console API",
        version="1",
        description="One member's reads and actions over live chain state. Authenticate with the member's bearer "
        "token (`Authorization: Bearer ...`, written by `creditshare serve` under the data folder).",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals.update(purposes=KNOWN_PURPOSES, reason_text=reason_text, date=iso_day, yuan=yuan)
    secret = secrets.token_bytes(32)
    app.state.console = console
    app.state.api_token_hash = hashlib.sha256(api_token.encode()).digest()
    app.add_middleware(
        TrustedHostMiddleware, allowed_hosts=allowed_hosts or ["127.0.0.1", "localhost", "[::1]", "testserver"]
    )

    def csrf_for(cookie: str) -> str:
        return hmac.new(secret, cookie.encode(), hashlib.sha256).hexdigest()

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        try:
            response = await call_next(request)
        except Exception as err:  # a bug: one line to the user, the traceback to the console's log
            response = error_page(request, err)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"  # no-referrer makes a form's Origin "null"
        if not request.url.path.startswith("/api/docs"):
            response.headers["Content-Security-Policy"] = (
                "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"
            )
        return response

    def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        cookie = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        ctx = {"me": console.account.address, "key": console.config.account_name, "csrf": csrf_for(cookie), **context}
        response = templates.TemplateResponse(request, name, ctx, status_code=status)
        if request.cookies.get(CSRF_COOKIE) != cookie:
            response.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="strict")
        return response

    def error_page(request: Request, err: Exception) -> Response:
        status = status_of(err)
        if status >= 500 and not isinstance(err, CreditShareError):
            log.error("unexpected error on %s", request.url.path, exc_info=err)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message_of(err)}, status_code=status)
        return render(request, "error.html", {"status": status, "message": message_of(err)}, status)

    @app.exception_handler(CreditShareError)
    @app.exception_handler(ScoringError)
    async def on_error(request: Request, err: Exception) -> Response:
        return error_page(request, err)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, err: StarletteHTTPException) -> Response:
        text = str(err.detail) if err.status_code != 404 else f"no page at {request.url.path}"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": text}, status_code=err.status_code, headers=err.headers)
        return render(request, "error.html", {"status": err.status_code, "message": text}, err.status_code)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, err: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in ('body', 'query', 'path'))}: {e.get('msg')}"
            for e in err.errors()
        )
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": f"bad request: {problems}"}, status_code=422)
        return render(request, "error.html", {"status": 400, "message": f"bad input: {problems}"}, 400)

    async def csrf_guard(request: Request) -> None:
        """Every form's first check, before its fields are read: the CSRF token must be this browser's, and a
        request that says where it comes from (Origin) must come from this console."""
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
            raise Forbidden(f"a form sent from {origin} is refused: only this console's own pages may post to it.")
        form = await request.form()
        token = str(form.get("csrf", ""))
        cookie = request.cookies.get(CSRF_COOKIE)
        if not cookie or not hmac.compare_digest(token.encode(), csrf_for(cookie).encode()):
            raise Forbidden(
                "the form's CSRF token does not match this browser's session: reload the page and submit it again."
            )

    # the forms' routes: HTML answers, not in the API schema, the CSRF check first
    FORM: dict[str, Any] = {
        "response_class": HTMLResponse,
        "include_in_schema": False,
        "dependencies": [Depends(csrf_guard)],
    }

    # -- pages --------------------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def search(request: Request, q: str = "") -> Response:
        if q:
            try:
                found = console.resolve(q)
            except CreditShareError as err:
                return render(request, "search.html", {"q": q, "error": message_of(err)}, status_of(err))
            return RedirectResponse(f"/subject/{to_hex(found)}", status_code=303)
        return render(request, "search.html", {"q": ""})

    @app.get("/subject/{subject}", response_class=HTMLResponse, include_in_schema=False)
    def subject(request: Request, subject: str, page: int = Query(1, ge=1, le=MAX_PAGE)) -> Response:
        facts, rows, pages = console.subject_page(subject_id(subject), page)
        chart = history_svg(facts["history"])
        return render(
            request,
            "subject.html",
            {
                "f": facts,
                "rows": rows,
                "page": page,
                "pages": pages,
                "chart": chart,
                "page_size": len(rows),
                "lanes_chart": bar_svg(facts.get("lanes") or []),
            },
        )

    @app.get("/portfolio", response_class=HTMLResponse, include_in_schema=False)
    def portfolio(request: Request, sort: str = "score") -> Response:
        return render(request, "portfolio.html", {"p": console.portfolio(sort)})

    @app.get("/model", response_class=HTMLResponse, include_in_schema=False)
    def model(request: Request) -> Response:
        return render(request, "model.html", {"m": console.model(), "h": console.model_health()})

    @app.get("/model/{plot}.svg", include_in_schema=False)
    def model_plot(plot: str) -> Response:
        health = console.model_health()
        if plot not in ("roc", "psi") or health["reason"]:
            raise NotFound(f"no {plot} plot: {health['reason'] or 'the plots are roc and psi'}")
        return Response(health[f"{plot}_svg"], media_type="image/svg+xml")

    @app.get("/network", response_class=HTMLResponse, include_in_schema=False)
    def network(request: Request) -> Response:
        return render(request, "network.html", {"n": console.network()})

    @app.get("/evidence/{cid}", include_in_schema=False)
    def evidence_document(cid: str) -> Response:
        """A settlement's evidence document from this member's evidence store, as a download (never rendered)."""
        digest_from_cid(cid)  # a malformed CID is bad input (400), before any store is asked
        try:
            data = evidence.load(console.client.settings.evidence_dir, cid)
        except InvalidInput as err:
            raise NotFound(str(err)) from err
        return Response(
            data,
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{cid}"'},
        )

    # -- signed actions (forms) -------------------------------------------------------------------------

    def done(request: Request, title: str, result: dict[str, Any], back: str) -> Response:
        return render(request, "result.html", {"title": title, "result": result, "back": back})

    @app.post(
        "/actions/consent", response_class=HTMLResponse, include_in_schema=False, dependencies=[Depends(csrf_guard)]
    )
    def consent(
        request: Request,
        lender: str = Form(..., max_length=100),
        purpose: str = Form(..., max_length=100),
        scope: str = Form(..., max_length=100),
        days: int = Form(..., ge=1, le=3650),
    ) -> Response:
        result = console.grant(lender.strip(), purpose.strip(), parse_scope(scope), days)
        return done(request, f"Consent {result['id']} granted to {lender}", result, "/network")

    @app.post("/actions/read", **FORM)
    def read(
        request: Request,
        subject: str = Form(..., max_length=200),
        purpose: str = Form(..., max_length=100),
        scope: str = Form("score", max_length=100),
    ) -> Response:
        sid = subject_id(subject)
        result = console.consented_read([sid], parse_scope(scope), purpose.strip())
        return done(request, f"Consented read of {to_hex(sid)}", result, f"/subject/{to_hex(sid)}")

    @app.post("/actions/view", **FORM)
    def view(request: Request, subject: str = Form(..., max_length=200)) -> Response:
        sid = subject_id(subject)
        result = console.view(sid)
        return done(request, f"Paid list view of {to_hex(sid)}", result, f"/subject/{to_hex(sid)}")

    @app.post(
        "/actions/decrypt", response_class=HTMLResponse, include_in_schema=False, dependencies=[Depends(csrf_guard)]
    )
    def decrypt(request: Request, entry_id: int = Form(..., ge=1, le=2**63), subject: str = Form("")) -> Response:
        result = console.decrypt(entry_id)
        back = f"/subject/{to_hex(subject_id(subject))}" if subject else "/"
        return done(request, f"Details of entry {entry_id}", result, back)

    @app.post(
        "/actions/refresh", response_class=HTMLResponse, include_in_schema=False, dependencies=[Depends(csrf_guard)]
    )
    def refresh(request: Request, subject: str = Form(..., max_length=200)) -> Response:
        sid = subject_id(subject)
        result = console.refresh(sid)
        return done(request, f"Score refresh requested for {to_hex(sid)}", result, f"/subject/{to_hex(sid)}")

    @app.get("/static/console.css", include_in_schema=False)
    def css() -> Response:
        return Response((TEMPLATES / "console.css").read_text(), media_type="text/css")

    app.include_router(api.router(console))
    return app
