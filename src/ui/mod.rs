//! The web UI inside `usercom serve` (off with `--no-ui`): pages rendered on the server
//! from the query layer ([`crate::api`]), on the server's port and database, under
//! `/ui/`. No script is needed to use them ([`live`] adds live updates with a little).
//!
//! Safe by construction: every value is escaped by the templates; answers carry a
//! Content-Security-Policy without inline script and no CORS headers; requests whose
//! `Host` is a DNS name other than localhost are refused (DNS rebinding); changes are
//! POST forms with a CSRF token. On a loopback address the UI is open; on any other it
//! asks once for an admin key and keeps an HttpOnly, SameSite=Strict session cookie.
//!
//! Pages: [`users`] (list and profile), [`companies`], [`stats`] (events, page views,
//! rejections), [`settings`] (keys, trusted domains, attributes), [`live`], [`why`]
//! (a value's explanation).

mod companies;
mod layout;
mod live;
mod settings;
mod stats;
mod users;
mod why;

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use maud::Markup;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::watch;

use crate::server::{Admin, Live, host_allowed, percent_decoded, read_form};
use crate::store::Store;
use layout::Ctx;

pub type Body = BoxBody<Bytes, Infallible>;

/// The session cookie's name.
const COOKIE: &str = "usercom_session";
/// Sessions kept at most (the oldest are forgotten past it).
const MAX_SESSIONS: usize = 1000;

/// What the pages share.
pub struct Ui {
    admin: Arc<Admin>,
    /// On a loopback address: no login.
    open: bool,
    /// Signs CSRF tokens (random per run).
    secret: [u8; 32],
    sessions: Mutex<HashSet<String>>,
    live: Live,
    body_timeout: Duration,
}

impl Ui {
    pub fn new(admin: Arc<Admin>, open: bool, live: Live, body_timeout: Duration) -> Ui {
        let mut secret = [0u8; 32];
        let _ = getrandom::fill(&mut secret);
        Ui {
            admin,
            open,
            secret,
            sessions: Mutex::new(HashSet::new()),
            live,
            body_timeout,
        }
    }

    /// The CSRF token of a session ("" on an open UI): a keyed hash of it.
    fn csrf(&self, session: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(b"csrf:");
        h.update(session.as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn session(&self, headers: &HeaderMap) -> Option<String> {
        let sessions = self.sessions.lock().ok()?;
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().strip_prefix(&format!("{COOKIE}=")))
            .find(|s| sessions.contains(*s))
            .map(str::to_string)
    }

    fn new_session(&self) -> Option<String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).ok()?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut sessions = self.sessions.lock().ok()?;
        if sessions.len() >= MAX_SESSIONS {
            sessions.clear();
        }
        sessions.insert(id.clone());
        Some(id)
    }

    /// Runs a page on a database connection, off the async threads.
    async fn with<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Store) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let ui = self.clone();
        tokio::task::spawn_blocking(move || ui.admin.with(f))
            .await
            .map_err(|_| anyhow::anyhow!("reading the database failed"))?
    }
}

/// Whether a path is the UI's (`/` stays the API's: a JSON 404 naming its endpoints).
pub fn is_ui_path(path: &str) -> bool {
    path == "/ui" || path.starts_with("/ui/")
}

/// The headers every UI answer carries.
fn secure(response: &mut Response<Body>) {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

fn full(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()).boxed());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn html(status: StatusCode, markup: Markup) -> Response<Body> {
    full(status, "text/html; charset=utf-8", markup.into_string())
}

fn redirect(to: &str) -> Response<Body> {
    let mut response = full(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", "");
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// An error as a page: usage 400, not found 404, forbidden 403, else 500.
fn error_page(ctx: &Ctx, e: &anyhow::Error) -> Response<Body> {
    let (status, message) = match e.downcast_ref::<crate::Error>() {
        Some(crate::Error::Usage(m)) => (StatusCode::BAD_REQUEST, m.clone()),
        Some(crate::Error::NotFound(m)) => (StatusCode::NOT_FOUND, m.clone()),
        Some(crate::Error::Forbidden(m)) => (StatusCode::FORBIDDEN, m.clone()),
        None => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
    };
    html(status, layout::message(ctx, status, &message))
}

/// Answers a UI request.
pub async fn handle(
    ui: Arc<Ui>,
    request: Request<Incoming>,
    shutdown: watch::Receiver<bool>,
) -> Response<Body> {
    let started = std::time::Instant::now();
    let mut response = route(ui, request, shutdown).await;
    secure(&mut response);
    // The server's time for the page (scripts/bench-ui.sh reads it).
    let took = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={took:.1}")) {
        response.headers_mut().insert("server-timing", v);
    }
    response
}

async fn route(
    ui: Arc<Ui>,
    request: Request<Incoming>,
    shutdown: watch::Receiver<bool>,
) -> Response<Body> {
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let mut ctx = Ctx::new(&path, &query);
    if !host_allowed(request.headers()) {
        return html(
            StatusCode::FORBIDDEN,
            layout::message(
                &ctx,
                StatusCode::FORBIDDEN,
                "the Host header is not this server's address or a loopback name: the UI \
                 answers only requests addressed to an IP address or localhost",
            ),
        );
    }
    let method = request.method().clone();
    if let Some(asset) = path.strip_prefix("/ui/assets/") {
        return layout::asset(asset);
    }
    let session = if ui.open {
        Some(String::new())
    } else {
        ui.session(request.headers())
    };
    if path == "/ui/login" {
        return login(&ui, &mut ctx, request).await;
    }
    let Some(session) = session else {
        return redirect("/ui/login");
    };
    ctx.csrf = ui.csrf(&session);
    ctx.login = !ui.open;
    if method == Method::POST {
        let form = match read_form(request, ui.body_timeout).await {
            Ok(form) => form,
            Err(message) => {
                return html(
                    StatusCode::BAD_REQUEST,
                    layout::message(&ctx, StatusCode::BAD_REQUEST, &message),
                );
            }
        };
        let token = form
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if !bool::from(token.as_bytes().ct_eq(ctx.csrf.as_bytes())) {
            return html(
                StatusCode::FORBIDDEN,
                layout::message(
                    &ctx,
                    StatusCode::FORBIDDEN,
                    "the form's CSRF token is missing or wrong: reload the page and send it again",
                ),
            );
        }
        return settings::post(&ui, &ctx, &path, form).await;
    }
    if method != Method::GET && method != Method::HEAD {
        let mut r = html(
            StatusCode::METHOD_NOT_ALLOWED,
            layout::message(
                &ctx,
                StatusCode::METHOD_NOT_ALLOWED,
                "use GET (or POST a form)",
            ),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
        return r;
    }
    if path == "/ui/live/stream" {
        return live::stream(&ui, shutdown);
    }
    let page = match path.as_str() {
        "/ui" | "/ui/" => return redirect("/ui/users"),
        "/ui/users" => users::list(&ui, &ctx).await,
        "/ui/companies" => companies::list(&ui, &ctx).await,
        "/ui/events" => stats::history(&ui, &ctx, false).await,
        "/ui/pages" => stats::history(&ui, &ctx, true).await,
        "/ui/rejections" => stats::rejections(&ui, &ctx).await,
        "/ui/live" => live::page(&ui, &ctx).await,
        "/ui/settings" => settings::page(&ui, &ctx, None).await,
        _ => {
            if let Some(id) = one(&path, "/ui/users/") {
                users::profile(&ui, &ctx, id).await
            } else if let Some(id) = one(&path, "/ui/why/user/") {
                why::page(&ui, &ctx, crate::api::explain::Of::User, id).await
            } else if let Some(group) = one(&path, "/ui/why/company/") {
                why::page(&ui, &ctx, crate::api::explain::Of::Company, group).await
            } else if let Some(group) = one(&path, "/ui/companies/") {
                companies::one(&ui, &ctx, group).await
            } else {
                Err(crate::Error::NotFound(format!("no page {path}")).into())
            }
        }
    };
    match page {
        Ok(markup) => html(StatusCode::OK, markup),
        Err(e) => error_page(&ctx, &e),
    }
}

/// The id in `/ui/users/{id}`, decoded.
fn one(path: &str, prefix: &str) -> Option<String> {
    let id = path.strip_prefix(prefix)?;
    if id.is_empty() || id.contains('/') {
        return None;
    }
    percent_decoded(id).filter(|s| !s.is_empty())
}

/// The login form (GET) and its answer (POST): an active admin key opens a session.
async fn login(ui: &Arc<Ui>, ctx: &mut Ctx, request: Request<Incoming>) -> Response<Body> {
    if ui.open {
        return redirect("/ui/users");
    }
    // The login form has its own token (no session yet): bound to nothing secret, it
    // only stops other sites from logging a browser in with their key.
    ctx.csrf = ui.csrf("login");
    if request.method() != Method::POST {
        return html(StatusCode::OK, layout::login(ctx, None));
    }
    let form = match read_form(request, ui.body_timeout).await {
        Ok(form) => form,
        Err(m) => return html(StatusCode::BAD_REQUEST, layout::login(ctx, Some(&m))),
    };
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if !bool::from(get("csrf").as_bytes().ct_eq(ctx.csrf.as_bytes())) {
        return html(
            StatusCode::FORBIDDEN,
            layout::login(ctx, Some("the form's CSRF token is missing or wrong")),
        );
    }
    let key = get("key").trim().to_string();
    let checked = ui
        .with(move |store| crate::api::require_admin(store, &key))
        .await;
    if let Err(e) = checked {
        return html(
            StatusCode::FORBIDDEN,
            layout::login(ctx, Some(&format!("{e:#}"))),
        );
    }
    let Some(session) = ui.new_session() else {
        return html(
            StatusCode::INTERNAL_SERVER_ERROR,
            layout::login(ctx, Some("no OS randomness for a session")),
        );
    };
    let mut response = redirect("/ui/users");
    if let Ok(cookie) = HeaderValue::from_str(&format!(
        "{COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict"
    )) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}
