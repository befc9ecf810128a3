//! A snapshot: the whole derived state of a database as one value, written as
//! canonical JSON (keys sorted, lists sorted, two-space indentation, a final newline),
//! so that the same state gives the same bytes whatever the order events arrived in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The snapshot format this build writes and reads.
pub const FORMAT: u32 = 1;

/// The whole derived state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Attribute definitions, by scope, event and name.
    pub attribute_definitions: Vec<Definition>,
    /// Companies by groupId.
    pub companies: Vec<CompanySnapshot>,
    /// Identified users by userId, then anonymous profiles by anonymousId.
    pub users: Vec<UserSnapshot>,
    /// The format (see [`FORMAT`]); marks the file as a usercom snapshot.
    pub usercom_snapshot: u32,
}

/// A value and its type (`string`, `number`, `boolean`, `date`, `datetime`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Typed {
    #[serde(rename = "type")]
    pub ty: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The event an event attribute belongs to.
    pub event: Option<String>,
    pub name: String,
    /// `defined` (by `attrs define`) or `auto` (created by ingested data).
    pub origin: String,
    pub scope: String,
    #[serde(rename = "type")]
    pub ty: String,
}

impl Definition {
    /// How a definition is named in a diff: `user plan`, `event Order Completed.total`.
    pub fn key(&self) -> String {
        match &self.event {
            Some(event) => format!("{} {event}.{}", self.scope, self.name),
            None => format!("{} {}", self.scope, self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSnapshot {
    /// Every anonymousId that leads to this profile.
    pub anonymous_ids: Vec<String>,
    pub attributes: BTreeMap<String, Typed>,
    /// groupIds.
    pub companies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Event occurrences by event name.
    pub events: BTreeMap<String, i64>,
    /// Standard fields that hold a value (text).
    pub fields: BTreeMap<String, Value>,
    pub last_seen: Option<String>,
    pub page_views: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    pub user_id: Option<String>,
}

impl UserSnapshot {
    /// How the user is named: userId, else `anonymous:` and its first anonymousId.
    pub fn key(&self) -> String {
        match (&self.user_id, self.anonymous_ids.first()) {
            (Some(user_id), _) => user_id.clone(),
            (None, Some(anon)) => format!("anonymous:{anon}"),
            (None, None) => "anonymous:".to_string(),
        }
    }

    fn order(&self) -> (bool, String) {
        (self.user_id.is_none(), self.key())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanySnapshot {
    pub attributes: BTreeMap<String, Typed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Standard fields that hold a value (`employees` a number, the rest text).
    pub fields: BTreeMap<String, Value>,
    pub group_id: String,
    /// userIds (anonymousIds for members without one).
    pub members: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl Snapshot {
    /// Puts every list in its canonical order.
    pub fn canonicalize(&mut self) {
        self.attribute_definitions
            .sort_by(|a, b| (&a.scope, &a.event, &a.name).cmp(&(&b.scope, &b.event, &b.name)));
        self.companies.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        for company in &mut self.companies {
            company.members.sort();
        }
        for user in &mut self.users {
            user.anonymous_ids.sort();
            user.companies.sort();
        }
        self.users.sort_by_cached_key(UserSnapshot::order);
    }

    /// The canonical JSON text: sorted, indented by two spaces, ending in a newline.
    pub fn to_canonical_json(&self) -> String {
        let mut copy = self.clone();
        copy.canonicalize();
        // Struct fields are declared in name order and maps are B-trees: keys come out
        // sorted at every level (values inside `Typed` are scalars).
        let mut text = serde_json::to_string_pretty(&copy).expect("a snapshot serializes");
        text.push('\n');
        text
    }

    /// Reads a snapshot file's text.
    pub fn from_json(text: &str) -> Result<Snapshot, String> {
        let mut snapshot: Snapshot = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if snapshot.usercom_snapshot != FORMAT {
            return Err(format!(
                "snapshot format {} is not one this usercom reads ({FORMAT})",
                snapshot.usercom_snapshot
            ));
        }
        snapshot.canonicalize();
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(user_id: Option<&str>, anon: &[&str]) -> UserSnapshot {
        UserSnapshot {
            anonymous_ids: anon.iter().map(|s| s.to_string()).collect(),
            attributes: BTreeMap::new(),
            companies: vec!["b".into(), "a".into()],
            created_at: None,
            events: BTreeMap::new(),
            fields: BTreeMap::new(),
            last_seen: None,
            page_views: 0,
            updated_at: None,
            user_id: user_id.map(str::to_string),
        }
    }

    fn snapshot(users: Vec<UserSnapshot>) -> Snapshot {
        Snapshot {
            attribute_definitions: Vec::new(),
            companies: Vec::new(),
            users,
            usercom_snapshot: FORMAT,
        }
    }

    #[test]
    fn same_state_in_any_order_gives_the_same_text() {
        let a = snapshot(vec![
            user(Some("u2"), &["x"]),
            user(None, &["z", "y"]),
            user(Some("u1"), &[]),
        ]);
        let mut reversed = a.clone();
        reversed.users.reverse();
        assert_eq!(a.to_canonical_json(), reversed.to_canonical_json());
        let text = a.to_canonical_json();
        assert!(text.ends_with("}\n"));
        let keys: Vec<String> = Snapshot::from_json(&text)
            .unwrap()
            .users
            .iter()
            .map(UserSnapshot::key)
            .collect();
        assert_eq!(keys, ["u1", "u2", "anonymous:y"]);
    }

    #[test]
    fn keys_are_sorted_at_every_level() {
        let text = snapshot(vec![user(Some("u"), &[])]).to_canonical_json();
        let value: Value = serde_json::from_str(&text).unwrap();
        let top: Vec<&String> = value.as_object().unwrap().keys().collect();
        let mut sorted = top.clone();
        sorted.sort();
        assert_eq!(top, sorted);
        // Times are left out unless asked for.
        assert!(!text.contains("created_at"));
        assert_eq!(value["users"][0]["companies"], json!(["a", "b"]));
    }

    #[test]
    fn another_format_or_another_document_is_refused() {
        let mut other = snapshot(Vec::new());
        other.usercom_snapshot = 99;
        let text = serde_json::to_string(&other).unwrap();
        assert!(
            Snapshot::from_json(&text)
                .unwrap_err()
                .contains("format 99")
        );
        assert!(Snapshot::from_json("{\"users\": []}").is_err());
    }
}
