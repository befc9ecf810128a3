//! Settings, as User.com's App settings: API keys (a new key shown once; revoke),
//! trusted domains (add, remove), attribute definitions by scope (define or retype,
//! with the conversion report and the values that could not be converted). Every
//! change is a POST form with the CSRF token (checked before this is reached).

use std::sync::Arc;

use anyhow::Result;
use hyper::{Response, StatusCode};
use maud::{Markup, html};

use super::layout::{self, Ctx, csrf};
use super::{Body, Ui, error_page, html as answer};
use crate::Error;
use crate::api::settings;
use crate::semantics::attributes::{AttrType, Scope};
use crate::store::{AttrDef, DomainRow, KeyKind, KeyRow, Redefinition, Store, UnconvertedValue};

const TYPES: [&str; 5] = ["string", "number", "boolean", "date", "datetime"];
const SCOPES: [Scope; 3] = [Scope::User, Scope::Company, Scope::Event];

/// What a change did, shown above the settings.
pub enum Notice {
    Text(String),
    /// A key just created: shown this once.
    Key(KeyRow, String),
    Defined(Redefinition),
}

struct Settings {
    keys: Vec<KeyRow>,
    domains: Vec<DomainRow>,
    attributes: Vec<AttrDef>,
    /// The values a retype just set aside.
    unconverted: Vec<UnconvertedValue>,
}

fn read(store: &Store) -> Result<Settings> {
    Ok(Settings {
        keys: store.keys()?,
        domains: store.domains()?,
        attributes: store.attribute_defs()?,
        unconverted: Vec::new(),
    })
}

pub async fn page(ui: &Arc<Ui>, ctx: &Ctx, notice: Option<Notice>) -> Result<Markup> {
    ctx.params(&[]).only(&[])?;
    let settings = ui.with(read).await?;
    Ok(render(ctx, settings, notice))
}

/// A settings form's POST.
pub async fn post(
    ui: &Arc<Ui>,
    ctx: &Ctx,
    path: &str,
    form: Vec<(String, String)>,
) -> Response<Body> {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let notice: Result<Notice> = match path {
        "/ui/settings/keys" => {
            let name = get("name");
            let kind = if get("kind") == "admin" {
                KeyKind::Admin
            } else {
                KeyKind::Write
            };
            ui.with(move |store| settings::create_key(store, Some(&name), kind))
                .await
                .map(|(row, key)| Notice::Key(row, key))
        }
        "/ui/settings/keys/revoke" => {
            let id = get("id");
            ui.with(move |store| {
                let id = id
                    .parse::<i64>()
                    .map_err(|_| Error::Usage(format!("no key id {id:?}")))?;
                match store.revoke_key(id)? {
                    Some(row) => Ok(Notice::Text(format!(
                        "Revoked key {} ({}…).",
                        row.id, row.prefix
                    ))),
                    None => Err(Error::NotFound(format!("no API key {id}")).into()),
                }
            })
            .await
        }
        "/ui/settings/domains" => {
            let domain = get("domain");
            ui.with(move |store| settings::add_domain(store, &domain))
                .await
                .map(|(d, added)| {
                    Notice::Text(if added {
                        format!("Trusting {d} and its subdomains; events from other domains are now rejected.")
                    } else {
                        format!("{d} was already trusted.")
                    })
                })
        }
        "/ui/settings/domains/remove" => {
            let domain = get("domain");
            ui.with(move |store| settings::remove_domain(store, &domain))
                .await
                .map(|d| Notice::Text(format!("No longer trusting {d}.")))
        }
        "/ui/settings/attributes" => {
            let (name, event) = (get("name"), get("event"));
            let (scope, ty) = (get("scope"), get("type"));
            ui.with(move |store| {
                let scope: Scope = scope.parse().map_err(Error::Usage)?;
                let ty: AttrType = ty.parse().map_err(Error::Usage)?;
                let event = (!event.is_empty()).then_some(event);
                settings::define_attribute(store, Some(scope), event, &name, ty)
            })
            .await
            .map(Notice::Defined)
        }
        _ => Err(Error::NotFound(format!("no form {path}")).into()),
    };
    let result = match notice {
        Ok(notice) => page(ui, ctx, Some(notice)).await,
        Err(e) => return error_page(ctx, &e),
    };
    match result {
        Ok(markup) => answer(StatusCode::OK, markup),
        Err(e) => error_page(ctx, &e),
    }
}

fn render(ctx: &Ctx, mut s: Settings, notice: Option<Notice>) -> Markup {
    if let Some(Notice::Defined(d)) = &notice {
        s.unconverted = d.unconverted.clone();
    }
    let body = html! {
        @if let Some(n) = &notice { (notice_box(n)) }
        section aria-labelledby="h-keys" {
            h2 #h-keys { "API keys" }
            p { "A write key only sends events (it is public in every page with analytics.js); an admin key also reads the API and opens this UI." }
            table {
                thead { tr {
                    th scope="col" { "Id" } th scope="col" { "Name" } th scope="col" { "Kind" }
                    th scope="col" { "Key starts" } th scope="col" { "Created" } th scope="col" { "Revoked" }
                    th scope="col" { span.visually-hidden { "Action" } }
                } }
                tbody {
                    @for k in &s.keys {
                        tr {
                            td { (k.id) } td { (k.name.as_deref().unwrap_or("")) } td { (k.kind.as_str()) }
                            td { code { (k.prefix) "…" } } td { (k.created_at) }
                            td { (k.revoked_at.as_deref().unwrap_or("")) }
                            td {
                                @if k.revoked_at.is_none() {
                                    form.inline method="post" action="/ui/settings/keys/revoke" {
                                        (csrf(ctx))
                                        input type="hidden" name="id" value=(k.id);
                                        button type="submit" aria-label={ "Revoke key " (k.id) } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form method="post" action="/ui/settings/keys" aria-label="Create a key" {
                (csrf(ctx))
                div.field { label for="key-name" { "Name" } input #key-name type="text" name="name"; }
                div.field {
                    label for="key-kind" { "Kind" }
                    select #key-kind name="kind" {
                        option value="write" { "write" }
                        option value="admin" { "admin" }
                    }
                }
                button type="submit" { "Create key" }
            }
        }
        section aria-labelledby="h-domains" {
            h2 #h-domains { "Trusted domains" }
            @if s.domains.is_empty() {
                p { "None: events from every domain are taken." }
            } @else {
                ul.domains {
                    @for d in &s.domains {
                        li {
                            span.domain { (d.domain) } " (added " (d.added_at) ") "
                            form.inline method="post" action="/ui/settings/domains/remove" {
                                (csrf(ctx))
                                input type="hidden" name="domain" value=(d.domain);
                                button type="submit" aria-label={ "Remove " (d.domain) } { "Remove" }
                            }
                        }
                    }
                }
            }
            form method="post" action="/ui/settings/domains" aria-label="Add a trusted domain" {
                (csrf(ctx))
                div.field { label for="domain" { "Domain" } input #domain type="text" name="domain" required placeholder="example.com"; }
                button type="submit" { "Add domain" }
            }
        }
        section aria-labelledby="h-attrs" {
            h2 #h-attrs { "Attributes" }
            @for scope in SCOPES {
                h3 { (scope.as_str()) " attributes" }
                @let defs: Vec<&AttrDef> = s.attributes.iter().filter(|d| d.scope == scope).collect();
                @if defs.is_empty() { p { "None." } } @else {
                    table {
                        thead { tr {
                            @if scope == Scope::Event { th scope="col" { "Event" } }
                            th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "Origin" }
                        } }
                        tbody {
                            @for d in defs {
                                tr {
                                    @if scope == Scope::Event { td { (d.event.as_deref().unwrap_or("")) } }
                                    td { (d.name) } td { (d.ty.as_str()) } td { (d.origin.as_str()) }
                                }
                            }
                        }
                    }
                }
            }
            form method="post" action="/ui/settings/attributes" aria-label="Define an attribute" {
                (csrf(ctx))
                div.field {
                    label for="attr-scope" { "Scope" }
                    select #attr-scope name="scope" { @for sc in SCOPES { option value=(sc.as_str()) { (sc.as_str()) } } }
                }
                div.field { label for="attr-event" { "Event (event scope)" } input #attr-event type="text" name="event"; }
                div.field { label for="attr-name" { "Name" } input #attr-name type="text" name="name" required; }
                div.field {
                    label for="attr-type" { "Type" }
                    select #attr-type name="type" { @for t in TYPES { option value=(t) { (t) } } }
                }
                button type="submit" { "Define" }
            }
        }
    };
    layout::page(ctx, "Settings", body)
}

fn notice_box(n: &Notice) -> Markup {
    html! {
        div.notice role="status" {
            @match n {
                Notice::Text(t) => p { (t) },
                Notice::Key(row, key) => {
                    p { "Created " (row.kind.as_str()) " key " (row.id) ". Store it now: it is not shown again." }
                    p { code #new-key { (key) } }
                }
                Notice::Defined(d) => {
                    @let what = match &d.def.event {
                        Some(e) => format!("{} attribute {} of event {e:?}", d.def.scope, d.def.name),
                        None => format!("{} attribute {}", d.def.scope, d.def.name),
                    };
                    @match d.previous_type {
                        None => p #conversion { "Defined " (what) " as " (d.def.ty.as_str()) "." },
                        Some(p) if p == d.def.ty => p #conversion { (what) " is already " (p.as_str()) "." },
                        Some(p) => {
                            p #conversion {
                                "Changed " (what) " from " (p.as_str()) " to " (d.def.ty.as_str()) ": "
                                (d.converted) " converted, " (d.unconverted.len()) " could not be converted (kept aside)."
                            }
                            @if !d.unconverted.is_empty() {
                                table #unconverted {
                                    caption { "Values not converted" }
                                    thead { tr { th scope="col" { "Owner" } th scope="col" { "Value" } th scope="col" { "From" } } }
                                    tbody {
                                        @for u in &d.unconverted {
                                            tr { td { (u.owner) } td { code { (u.value) } } td { (u.from_type.as_str()) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
