//! Comparing two snapshots: users and companies only on one side, and for the others
//! each field or attribute that differs (old -> new, with types); definitions that
//! differ. A pure function.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::snapshot::{CompanySnapshot, Definition, Snapshot, Typed, UserSnapshot};

/// What differs between snapshot A and snapshot B.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Diff {
    pub equal: bool,
    pub users: Section,
    pub companies: Section,
    pub attribute_definitions: Section,
}

/// One kind of thing (users, companies or definitions) compared.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Section {
    /// Keys of things only in A, sorted.
    pub only_in_a: Vec<String>,
    pub only_in_b: Vec<String>,
    /// Things on both sides that differ, by key.
    pub changed: Vec<Changed>,
}

impl Section {
    fn is_empty(&self) -> bool {
        self.only_in_a.is_empty() && self.only_in_b.is_empty() && self.changed.is_empty()
    }
}

/// A thing on both sides and what differs in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Changed {
    pub key: String,
    pub changes: Vec<Change>,
}

/// One value that differs. `a`/`b` are None where the side has no value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// `field`, `attribute`, `events` (occurrences of one event name), or one of the
    /// profile's own keys: `page_views`, `last_seen`, `companies`, `members`,
    /// `anonymous_ids`, `user_id`, `created_at`, `updated_at`, `type`, `origin`.
    pub kind: &'static str,
    pub name: String,
    pub a: Option<Typed>,
    pub b: Option<Typed>,
}

/// Compares two snapshots.
pub fn diff(a: &Snapshot, b: &Snapshot) -> Diff {
    let users = section(&a.users, &b.users, UserSnapshot::key, user_changes);
    let companies = section(
        &a.companies,
        &b.companies,
        |c| c.group_id.clone(),
        company_changes,
    );
    let attribute_definitions = section(
        &a.attribute_definitions,
        &b.attribute_definitions,
        Definition::key,
        definition_changes,
    );
    Diff {
        equal: users.is_empty() && companies.is_empty() && attribute_definitions.is_empty(),
        users,
        companies,
        attribute_definitions,
    }
}

fn section<T>(
    a: &[T],
    b: &[T],
    key: impl Fn(&T) -> String,
    changes: impl Fn(&T, &T) -> Vec<Change>,
) -> Section {
    let a: BTreeMap<String, &T> = a.iter().map(|t| (key(t), t)).collect();
    let b: BTreeMap<String, &T> = b.iter().map(|t| (key(t), t)).collect();
    let mut out = Section::default();
    for (k, left) in &a {
        match b.get(k) {
            None => out.only_in_a.push(k.clone()),
            Some(right) => {
                let changes = changes(left, right);
                if !changes.is_empty() {
                    out.changed.push(Changed {
                        key: k.clone(),
                        changes,
                    });
                }
            }
        }
    }
    out.only_in_b = b.keys().filter(|k| !a.contains_key(*k)).cloned().collect();
    out
}

fn typed(ty: &str, value: Value) -> Typed {
    Typed {
        ty: ty.to_string(),
        value,
    }
}

/// A standard field's type: its JSON kind (employees is a number, the rest text).
fn field_typed(value: &Value) -> Typed {
    let ty = match value {
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        _ => "string",
    };
    typed(ty, value.clone())
}

/// Adds a change when `a` and `b` differ.
fn compare(
    out: &mut Vec<Change>,
    kind: &'static str,
    name: &str,
    a: Option<Typed>,
    b: Option<Typed>,
) {
    if a != b {
        out.push(Change {
            kind,
            name: name.to_string(),
            a,
            b,
        });
    }
}

fn maps<V>(
    out: &mut Vec<Change>,
    kind: &'static str,
    a: &BTreeMap<String, V>,
    b: &BTreeMap<String, V>,
    to_typed: impl Fn(&V) -> Typed,
) {
    let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for name in names {
        compare(
            out,
            kind,
            name,
            a.get(name).map(&to_typed),
            b.get(name).map(&to_typed),
        );
    }
}

/// One of the profile's own keys (its name is the change's kind).
fn own<T: Serialize>(out: &mut Vec<Change>, kind: &'static str, ty: &str, a: &T, b: &T) {
    let present = |v: &T| {
        serde_json::to_value(v)
            .ok()
            .filter(|v| !v.is_null())
            .map(|v| typed(ty, v))
    };
    compare(out, kind, kind, present(a), present(b));
}

/// `created_at` and `updated_at` (present with `--with-times`).
fn times(out: &mut Vec<Change>, a: [&Option<String>; 2], b: [&Option<String>; 2]) {
    for (i, kind) in ["created_at", "updated_at"].into_iter().enumerate() {
        own(out, kind, "datetime", a[i], b[i]);
    }
}

fn user_changes(a: &UserSnapshot, b: &UserSnapshot) -> Vec<Change> {
    let mut out = Vec::new();
    maps(&mut out, "field", &a.fields, &b.fields, field_typed);
    maps(
        &mut out,
        "attribute",
        &a.attributes,
        &b.attributes,
        Typed::clone,
    );
    own(
        &mut out,
        "page_views",
        "number",
        &a.page_views,
        &b.page_views,
    );
    own(
        &mut out,
        "last_seen",
        "datetime",
        &a.last_seen,
        &b.last_seen,
    );
    maps(&mut out, "events", &a.events, &b.events, |n| {
        typed("number", Value::from(*n))
    });
    own(&mut out, "companies", "list", &a.companies, &b.companies);
    own(
        &mut out,
        "anonymous_ids",
        "list",
        &a.anonymous_ids,
        &b.anonymous_ids,
    );
    own(&mut out, "user_id", "string", &a.user_id, &b.user_id);
    times(
        &mut out,
        [&a.created_at, &a.updated_at],
        [&b.created_at, &b.updated_at],
    );
    out
}

fn company_changes(a: &CompanySnapshot, b: &CompanySnapshot) -> Vec<Change> {
    let mut out = Vec::new();
    maps(&mut out, "field", &a.fields, &b.fields, field_typed);
    maps(
        &mut out,
        "attribute",
        &a.attributes,
        &b.attributes,
        Typed::clone,
    );
    own(&mut out, "members", "list", &a.members, &b.members);
    times(
        &mut out,
        [&a.created_at, &a.updated_at],
        [&b.created_at, &b.updated_at],
    );
    out
}

fn definition_changes(a: &Definition, b: &Definition) -> Vec<Change> {
    let mut out = Vec::new();
    own(&mut out, "type", "string", &a.ty, &b.ty);
    own(&mut out, "origin", "string", &a.origin, &b.origin);
    own(
        &mut out,
        "created_at",
        "datetime",
        &a.created_at,
        &b.created_at,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::snapshot::FORMAT;
    use serde_json::json;

    fn user(id: usize) -> UserSnapshot {
        let mut attributes = BTreeMap::new();
        attributes.insert("plan".to_string(), typed("string", json!("free")));
        attributes.insert("logins".to_string(), typed("number", json!(id)));
        let mut fields = BTreeMap::new();
        fields.insert("email".to_string(), json!(format!("u{id}@example.com")));
        UserSnapshot {
            anonymous_ids: vec![format!("anon-{id}")],
            attributes,
            companies: Vec::new(),
            created_at: None,
            events: BTreeMap::from([("Signed Up".to_string(), 1)]),
            fields,
            last_seen: None,
            page_views: 3,
            updated_at: None,
            user_id: Some(format!("user-{id}")),
        }
    }

    fn many(n: usize) -> Snapshot {
        Snapshot {
            attribute_definitions: vec![Definition {
                created_at: None,
                event: None,
                name: "plan".into(),
                origin: "auto".into(),
                scope: "user".into(),
                ty: "string".into(),
            }],
            companies: Vec::new(),
            users: (0..n).map(user).collect(),
            usercom_snapshot: FORMAT,
        }
    }

    #[test]
    fn equal_snapshots_are_equal() {
        let d = diff(&many(50), &many(50));
        assert!(d.equal);
        assert_eq!(
            d,
            Diff {
                equal: true,
                ..Diff::default()
            }
        );
    }

    #[test]
    fn one_changed_attribute_among_thousands_is_found_with_its_types() {
        let a = many(3000);
        let mut b = a.clone();
        b.users[1234]
            .attributes
            .insert("plan".into(), typed("number", json!(42)));
        let d = diff(&a, &b);
        assert!(!d.equal);
        assert_eq!(d.users.changed.len(), 1);
        let changed = &d.users.changed[0];
        assert_eq!(changed.key, "user-1234");
        assert_eq!(
            changed.changes,
            vec![Change {
                kind: "attribute",
                name: "plan".into(),
                a: Some(typed("string", json!("free"))),
                b: Some(typed("number", json!(42))),
            }]
        );
        assert!(d.users.only_in_a.is_empty() && d.users.only_in_b.is_empty());
    }

    #[test]
    fn users_on_one_side_and_cleared_values() {
        let a = many(3);
        let mut b = many(4);
        b.users.remove(0);
        b.users[0].fields.remove("email");
        b.users[0].events.insert("Signed Up".into(), 2);
        let d = diff(&a, &b);
        assert_eq!(d.users.only_in_a, ["user-0"]);
        assert_eq!(d.users.only_in_b, ["user-3"]);
        let changes = &d.users.changed[0].changes;
        assert_eq!(d.users.changed[0].key, "user-1");
        assert_eq!(changes[0].kind, "field");
        assert_eq!(changes[0].b, None);
        assert_eq!(changes[1].kind, "events");
        assert_eq!(changes[1].b, Some(typed("number", json!(2))));
    }

    #[test]
    fn a_definition_with_another_type_differs() {
        let a = many(1);
        let mut b = a.clone();
        b.attribute_definitions[0].ty = "number".into();
        b.attribute_definitions[0].origin = "defined".into();
        let d = diff(&a, &b);
        let changes = &d.attribute_definitions.changed[0];
        assert_eq!(changes.key, "user plan");
        let kinds: Vec<&str> = changes.changes.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, ["type", "origin"]);
        assert!(!d.equal);
    }
}
