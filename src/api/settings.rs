//! What the settings change (keys, trusted domains, attribute definitions), checked the
//! same way for the command line and the web UI.

use anyhow::Result;

use crate::Error;
use crate::semantics::api_key;
use crate::semantics::attributes::{AttrType, Scope, attribute_name};
use crate::semantics::domains::normalize_domain;
use crate::store::{KeyKind, KeyRow, Redefinition, Store};

/// Creates a key; returns its row and the key itself (shown this once: the database
/// keeps a hash).
pub fn create_key(store: &Store, name: Option<&str>, kind: KeyKind) -> Result<(KeyRow, String)> {
    let key = api_key::generate().map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let row = store.insert_key(name, kind, &key)?;
    Ok((row, key))
}

/// Trusts a domain (normalised); false when it was already trusted.
pub fn add_domain(store: &Store, domain: &str) -> Result<(String, bool)> {
    let domain = normalize_domain(domain).map_err(Error::Usage)?;
    let added = store.add_domain(&domain)?;
    Ok((domain, added))
}

/// Stops trusting a domain; not found when it was not trusted.
pub fn remove_domain(store: &Store, domain: &str) -> Result<String> {
    let domain = normalize_domain(domain).map_err(Error::Usage)?;
    if !store.remove_domain(&domain)? {
        return Err(Error::NotFound(format!(
            "{domain} is not a trusted domain (see `usercom domains list`)"
        ))
        .into());
    }
    Ok(domain)
}

/// `attrs define`: the scope (user by default, event when an event is named), the
/// name checked for the scope, then the definition created or retyped with its
/// values converted.
pub fn define_attribute(
    store: &Store,
    scope: Option<Scope>,
    event: Option<String>,
    name: &str,
    ty: AttrType,
) -> Result<Redefinition> {
    let event = event.filter(|e| !e.trim().is_empty());
    let scope = scope.unwrap_or(if event.is_some() {
        Scope::Event
    } else {
        Scope::User
    });
    let name = attribute_name(scope, name)
        .map_err(Error::Usage)?
        .to_string();
    let event = match (scope, event) {
        (Scope::Event, Some(e)) => Some(e),
        (Scope::Event, None) => {
            return Err(Error::Usage(
                "--scope event needs --event NAME (the track event's name)".into(),
            )
            .into());
        }
        (_, Some(_)) => {
            return Err(Error::Usage(format!(
                "--event goes with --scope event, not --scope {scope}"
            ))
            .into());
        }
        (_, None) => None,
    };
    store.define_attribute(scope, event.as_deref(), &name, ty)
}
