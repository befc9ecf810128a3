//! What every page shares: the frame (navigation, title), the stylesheet and script
//! (embedded), pagers, the JSON/CSV twin links and the query string.

use hyper::StatusCode;
use maud::{DOCTYPE, Markup, html};

use super::{Body, full};
use crate::api::Window;
use crate::api::params::Params;

/// The request as the pages see it.
pub struct Ctx {
    pub path: String,
    /// The query's pairs without empty values (a form sends every field).
    pub pairs: Vec<(String, String)>,
    /// The CSRF token the page's forms carry.
    pub csrf: String,
    /// A login session (the UI is not open): show the sign-out hint.
    pub login: bool,
}

impl Ctx {
    pub fn new(path: &str, query: &str) -> Ctx {
        Ctx {
            path: path.to_string(),
            pairs: url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .filter(|(_, v)| !v.trim().is_empty())
                .collect(),
            csrf: String::new(),
            login: false,
        }
    }

    /// The query's parameters, without `drop`.
    pub fn params(&self, drop: &[&str]) -> Params {
        Params::parse(Some(&encode(
            self.pairs
                .iter()
                .filter(|(k, _)| !drop.contains(&k.as_str())),
        )))
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn one(&self, key: &str) -> String {
        self.all(key).into_iter().next().unwrap_or_default()
    }

    /// `limit` (default `per_page`) and `offset`, as the pages give them.
    pub fn window(&self, per_page: u64) -> anyhow::Result<Window> {
        let window = self.params(&[]).window()?;
        Ok(Window {
            limit: if self.one("limit").is_empty() {
                Some(per_page)
            } else {
                window.limit.or(Some(per_page))
            },
            offset: window.offset,
        })
    }

    /// The query string with `limit` set to the page's, and `extra` added.
    pub fn query_with(&self, window: Window, keep: &[&str], extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| keep.contains(&k.as_str()) && k != "limit" && k != "offset")
            .cloned()
            .collect();
        if let Some(l) = window.limit {
            pairs.push(("limit".into(), l.to_string()));
        }
        if window.offset > 0 {
            pairs.push(("offset".into(), window.offset.to_string()));
        }
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        encode(pairs.iter())
    }
}

pub fn encode<'a>(pairs: impl Iterator<Item = &'a (String, String)>) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A path segment, percent-encoded.
pub fn segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

const NAV: [(&str, &str); 7] = [
    ("/ui/users", "Users"),
    ("/ui/companies", "Companies"),
    ("/ui/events", "Events"),
    ("/ui/pages", "Page views"),
    ("/ui/rejections", "Rejections"),
    ("/ui/live", "Live"),
    ("/ui/settings", "Settings"),
];

/// A whole page.
pub fn page(ctx: &Ctx, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · usercom" }
                link rel="stylesheet" href="/ui/assets/ui.css";
                script src="/ui/assets/ui.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    nav aria-label="Main" {
                        span.brand { "usercom" }
                        ul {
                            @for (href, label) in NAV {
                                li {
                                    @if ctx.path == href || ctx.path.starts_with(&format!("{href}/")) {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page that only says something (an error).
pub fn message(ctx: &Ctx, status: StatusCode, text: &str) -> Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    page(ctx, title, html! { p.error role="alert" { (text) } })
}

/// The admin key form (the UI on a non-loopback address).
pub fn login(ctx: &Ctx, error: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Sign in · usercom" }
                link rel="stylesheet" href="/ui/assets/ui.css";
            }
            body {
                main #main {
                    h1 { "Sign in" }
                    p { "This server listens on a non-loopback address: give an admin key (" code { "usercom keys create --admin" } ")." }
                    @if let Some(e) = error { p.error role="alert" { (e) } }
                    form method="post" action="/ui/login" {
                        input type="hidden" name="csrf" value=(ctx.csrf);
                        label for="key" { "Admin key" }
                        input #key type="password" name="key" autocomplete="off" required;
                        button type="submit" { "Sign in" }
                    }
                }
            }
        }
    }
}

/// The JSON and CSV links to the read API's answer for the same query.
pub fn twins(api_path: &str, query: &str) -> Markup {
    let sep = if query.is_empty() { "" } else { "&" };
    let json = if query.is_empty() {
        api_path.to_string()
    } else {
        format!("{api_path}?{query}")
    };
    let csv = format!("{api_path}?{query}{sep}format=csv");
    html! {
        p.twins {
            "Same data: "
            a href=(json) { "JSON" } " · " a href=(csv) { "CSV" }
            " (the read API; an admin key as HTTP Basic user name)"
        }
    }
}

/// Previous / next links and where the window is.
pub fn pager(ctx: &Ctx, keep: &[&str], window: Window, total: u64, shown: usize) -> Markup {
    let limit = window.limit.unwrap_or(total.max(1));
    let first = if shown == 0 { 0 } else { window.offset + 1 };
    let last = window.offset + shown as u64;
    let link = |offset: u64| {
        format!(
            "{}?{}",
            ctx.path,
            ctx.query_with(
                Window {
                    limit: window.limit,
                    offset
                },
                keep,
                &[]
            )
        )
    };
    html! {
        nav.pager aria-label="Pages" {
            span { "Showing " (first) "–" (last) " of " (total) }
            @if window.offset > 0 {
                a rel="prev" href=(link(window.offset.saturating_sub(limit))) { "← Previous" }
            }
            @if last < total {
                a rel="next" href=(link(last)) { "Next →" }
            }
        }
    }
}

/// Custom attributes: name, type, value.
pub fn attributes(
    types: &[(String, crate::semantics::attributes::AttrType)],
    values: &serde_json::Map<String, serde_json::Value>,
    why: &str,
) -> Markup {
    html! {
        @if types.is_empty() { p { "None." } } @else {
            table {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "Value" }
                    th scope="col" { span.visually-hidden { "Explanation" } }
                } }
                tbody {
                    @for (name, ty) in types {
                        tr {
                            td { (name) }
                            td { (ty.as_str()) }
                            td { (values.get(name).map(crate::api::users::plain).unwrap_or_default()) }
                            td { (why_link(why, name)) }
                        }
                    }
                }
            }
        }
    }
}

/// A "why" link: the explanation of one value (`why` is the page's base path).
pub fn why_link(why: &str, name: &str) -> Markup {
    let href = format!(
        "{why}?{}",
        encode([("name".to_string(), name.to_string())].iter())
    );
    html! { a.why href=(href) aria-label={ "Why " (name) } { "why" } }
}

/// A hidden CSRF field.
pub fn csrf(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.csrf); }
}

/// A text input with its label.
pub fn field(name: &str, label: &str, value: &str, hint: &str) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) type="text" name=(name) value=(value) placeholder=(hint);
        }
    }
}

/// The stylesheet and the script, embedded in the binary.
pub fn asset(name: &str) -> hyper::Response<Body> {
    match name {
        "ui.css" => cached(full(
            StatusCode::OK,
            "text/css; charset=utf-8",
            include_str!("assets/ui.css"),
        )),
        "ui.js" => cached(full(
            StatusCode::OK,
            "text/javascript; charset=utf-8",
            include_str!("assets/ui.js"),
        )),
        _ => full(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "no such asset",
        ),
    }
}

fn cached(mut r: hyper::Response<Body>) -> hyper::Response<Body> {
    r.headers_mut().insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("max-age=300"),
    );
    r
}
