//! The fields identify maps a user's traits to: which trait fills which standard field
//! (name split, gender read, address taken apart), and which stay custom attributes.

use serde_json::{Map, Value};

use super::attributes::Scalar;
use super::identity::IDENTITY_TRAITS;

/// A user profile's standard fields, in storage order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserField {
    AnonymousId,
    Email,
    FirstName,
    LastName,
    Phone,
    Gender,
    Country,
    Region,
    City,
    UserAgent,
    Os,
    DeviceName,
    DeviceType,
    Language,
    Resolution,
    IpAddress,
    BrowserFamily,
    BrowserVersion,
    Timezone,
    CurrentUrl,
}

impl UserField {
    pub const ALL: [UserField; 20] = [
        UserField::AnonymousId,
        UserField::Email,
        UserField::FirstName,
        UserField::LastName,
        UserField::Phone,
        UserField::Gender,
        UserField::Country,
        UserField::Region,
        UserField::City,
        UserField::UserAgent,
        UserField::Os,
        UserField::DeviceName,
        UserField::DeviceType,
        UserField::Language,
        UserField::Resolution,
        UserField::IpAddress,
        UserField::BrowserFamily,
        UserField::BrowserVersion,
        UserField::Timezone,
        UserField::CurrentUrl,
    ];

    /// The field's name in JSON output and its column in the database.
    pub fn name(self) -> &'static str {
        match self {
            UserField::AnonymousId => "anonymous_id",
            UserField::Email => "email",
            UserField::FirstName => "first_name",
            UserField::LastName => "last_name",
            UserField::Phone => "phone",
            UserField::Gender => "gender",
            UserField::Country => "country",
            UserField::Region => "region",
            UserField::City => "city",
            UserField::UserAgent => "user_agent",
            UserField::Os => "os",
            UserField::DeviceName => "device_name",
            UserField::DeviceType => "device_type",
            UserField::Language => "language",
            UserField::Resolution => "resolution",
            UserField::IpAddress => "ip_address",
            UserField::BrowserFamily => "browser_family",
            UserField::BrowserVersion => "browser_version",
            UserField::Timezone => "timezone",
            UserField::CurrentUrl => "current_url",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A trait value that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// The field or attribute it was meant for.
    pub attribute: String,
    /// The value as sent (JSON text).
    pub value: String,
    pub reason: String,
}

/// What a set of traits does to a profile: standard fields to write (`None` clears),
/// custom traits (typed later, against the attribute definitions), values ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct TraitChanges<F> {
    pub fields: Vec<(F, Option<Scalar>)>,
    pub custom: Vec<(String, Value)>,
    pub ignored: Vec<Ignored>,
}

impl<F> Default for TraitChanges<F> {
    fn default() -> Self {
        TraitChanges {
            fields: Vec::new(),
            custom: Vec::new(),
            ignored: Vec::new(),
        }
    }
}

impl<F> TraitChanges<F> {
    /// Sets a text field from a trait value: strings and numbers as text, null (or an
    /// empty string) clears, objects and arrays are ignored.
    pub(crate) fn text(&mut self, field: F, name: &str, value: &Value) {
        match value {
            Value::Null => self.fields.push((field, None)),
            Value::String(s) if s.trim().is_empty() => self.fields.push((field, None)),
            Value::String(s) => self
                .fields
                .push((field, Some(Scalar::Text(s.as_str().into())))),
            Value::Number(n) => self.fields.push((
                field,
                Some(Scalar::Text(compact_str::format_compact!("{n}"))),
            )),
            Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
                self.ignore(name, value, "expected text")
            }
        }
    }

    pub(crate) fn ignore(&mut self, name: &str, value: &Value, reason: &str) {
        self.ignored.push(Ignored {
            attribute: name.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        });
    }
}

/// `address.{country, state|region, city}`, with top-level `country`, `region` and
/// `city` traits filling what the address does not give.
pub(crate) fn location(traits: &Map<String, Value>) -> [(&'static str, Option<&Value>); 3] {
    let address = traits.get("address").and_then(Value::as_object);
    let from_address = |keys: &[&str]| {
        address.and_then(|a| keys.iter().find_map(|k| a.get(*k).filter(|v| !v.is_null())))
    };
    [
        (
            "country",
            from_address(&["country"]).or_else(|| traits.get("country")),
        ),
        (
            "region",
            from_address(&["state", "region"]).or_else(|| traits.get("region")),
        ),
        (
            "city",
            from_address(&["city"]).or_else(|| traits.get("city")),
        ),
    ]
}

/// Keys identify consumes for standard fields; every other trait is a custom attribute.
pub const USER_STANDARD_TRAITS: &[&str] = &[
    "email",
    "first_name",
    "firstName",
    "last_name",
    "lastName",
    "name",
    "phone",
    "gender",
    "country",
    "region",
    "city",
];

/// Maps a user's traits to profile changes, as identify does.
pub fn user_trait_changes(traits: &Map<String, Value>) -> TraitChanges<UserField> {
    let mut out = TraitChanges::default();
    if let Some(v) = traits.get("email") {
        out.text(UserField::Email, "email", v);
    }
    if let Some(v) = traits.get("phone") {
        out.text(UserField::Phone, "phone", v);
    }
    let first = traits.get("first_name").or_else(|| traits.get("firstName"));
    let last = traits.get("last_name").or_else(|| traits.get("lastName"));
    if let Some(v) = first {
        out.text(UserField::FirstName, "first_name", v);
    }
    if let Some(v) = last {
        out.text(UserField::LastName, "last_name", v);
    }
    match traits.get("name") {
        None => {}
        // First and last names sent too win; the full name is kept as it was sent.
        Some(v) if first.is_some() || last.is_some() => {
            out.custom.push(("name".to_string(), v.clone()))
        }
        Some(Value::Null) => {
            out.fields.push((UserField::FirstName, None));
            out.fields.push((UserField::LastName, None));
        }
        Some(Value::String(name)) => {
            let (first, last) = split_name(name);
            out.fields
                .push((UserField::FirstName, first.map(|s| Scalar::Text(s.into()))));
            out.fields
                .push((UserField::LastName, last.map(|s| Scalar::Text(s.into()))));
        }
        Some(other) => out.ignore("name", other, "expected text"),
    }
    if let Some(v) = traits.get("gender") {
        match v {
            Value::Null => out.fields.push((UserField::Gender, None)),
            _ => match gender_text(v).as_deref().and_then(parse_gender) {
                Some(g) => out
                    .fields
                    .push((UserField::Gender, Some(Scalar::Text(g.into())))),
                None => out.ignore(
                    "gender",
                    v,
                    "not one of male, female, unknown (or User.com's codes 2, 3, 1)",
                ),
            },
        }
    }
    let location_fields = [UserField::Country, UserField::Region, UserField::City];
    for ((name, value), field) in location(traits).into_iter().zip(location_fields) {
        if let Some(v) = value {
            out.text(field, name, v);
        }
    }
    for (key, value) in traits {
        let standard = USER_STANDARD_TRAITS.contains(&key.as_str())
            || IDENTITY_TRAITS.contains(&key.as_str())
            || (key == "address" && value.is_object());
        if !standard {
            out.custom.push((key.clone(), value.clone()));
        }
    }
    out
}

/// "Ada King Lovelace" -> ("Ada", "King Lovelace").
pub fn split_name(name: &str) -> (Option<String>, Option<String>) {
    let mut parts = name.trim().splitn(2, char::is_whitespace);
    let first = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
    let last = parts
        .next()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    (first, last)
}

/// A gender trait as text: strings, and whole numbers (User.com's codes).
fn gender_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        _ => None,
    }
}

/// male, female or unknown, from m/male/f/female/u/unknown in any case, or User.com's
/// own codes (1 unknown, 2 male, 3 female).
pub fn parse_gender(text: &str) -> Option<&'static str> {
    match text.trim().to_ascii_lowercase().as_str() {
        "m" | "male" | "2" => Some("male"),
        "f" | "female" | "3" => Some("female"),
        "u" | "unknown" | "1" => Some("unknown"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn changes(traits: Value) -> TraitChanges<UserField> {
        user_trait_changes(traits.as_object().unwrap())
    }

    fn field(c: &TraitChanges<UserField>, f: UserField) -> Option<Option<&str>> {
        c.fields
            .iter()
            .rev()
            .find(|(k, _)| *k == f)
            .map(|(_, v)| match v {
                Some(Scalar::Text(s)) => Some(s.as_str()),
                None => None,
                other => panic!("not text: {other:?}"),
            })
    }

    #[test]
    fn standard_traits_map_to_fields() {
        let c = changes(json!({
            "email": "ada@example.com", "firstName": "Ada", "last_name": "Lovelace",
            "phone": "+44 20 7946 0000", "gender": "F", "plan": "pro"
        }));
        assert_eq!(field(&c, UserField::Email), Some(Some("ada@example.com")));
        assert_eq!(field(&c, UserField::FirstName), Some(Some("Ada")));
        assert_eq!(field(&c, UserField::LastName), Some(Some("Lovelace")));
        assert_eq!(field(&c, UserField::Phone), Some(Some("+44 20 7946 0000")));
        assert_eq!(field(&c, UserField::Gender), Some(Some("female")));
        assert_eq!(c.custom, vec![("plan".to_string(), json!("pro"))]);
        assert!(c.ignored.is_empty());
    }

    #[test]
    fn name_is_split_only_without_first_and_last() {
        let c = changes(json!({"name": "Ada King Lovelace"}));
        assert_eq!(field(&c, UserField::FirstName), Some(Some("Ada")));
        assert_eq!(field(&c, UserField::LastName), Some(Some("King Lovelace")));
        assert!(c.custom.is_empty());
        let c = changes(json!({"name": "Ada Lovelace", "firstName": "Augusta"}));
        assert_eq!(field(&c, UserField::FirstName), Some(Some("Augusta")));
        assert_eq!(field(&c, UserField::LastName), None);
        assert_eq!(c.custom, vec![("name".to_string(), json!("Ada Lovelace"))]);
        let c = changes(json!({"name": "Cher"}));
        assert_eq!(field(&c, UserField::FirstName), Some(Some("Cher")));
        assert_eq!(field(&c, UserField::LastName), Some(None), "cleared");
        let c = changes(json!({"name": null}));
        assert_eq!(field(&c, UserField::FirstName), Some(None));
        assert_eq!(field(&c, UserField::LastName), Some(None));
    }

    #[test]
    fn gender_words_and_letters() {
        for (sent, stored) in [
            ("m", "male"),
            ("MALE", "male"),
            ("f", "female"),
            ("Female", "female"),
            ("U", "unknown"),
            ("unknown", "unknown"),
        ] {
            let c = changes(json!({ "gender": sent }));
            assert_eq!(field(&c, UserField::Gender), Some(Some(stored)), "{sent}");
        }
    }

    #[test]
    fn unconvertible_gender_is_ignored_and_named() {
        let c = changes(json!({"gender": "robot"}));
        assert_eq!(field(&c, UserField::Gender), None);
        assert_eq!(c.ignored.len(), 1);
        assert_eq!(c.ignored[0].attribute, "gender");
        assert_eq!(c.ignored[0].value, "\"robot\"");
        assert!(c.custom.is_empty());
    }

    #[test]
    fn address_maps_to_location_and_top_level_fills_gaps() {
        let c = changes(json!({
            "address": {"street": "6th St", "city": "San Francisco", "state": "CA", "postalCode": "94103"},
            "country": "USA", "city": "Ignored City"
        }));
        assert_eq!(field(&c, UserField::City), Some(Some("San Francisco")));
        assert_eq!(field(&c, UserField::Region), Some(Some("CA")));
        assert_eq!(field(&c, UserField::Country), Some(Some("USA")));
        assert!(c.custom.is_empty());
        let c = changes(json!({"address": {"region": "Mazovia"}, "city": "Warsaw"}));
        assert_eq!(field(&c, UserField::Region), Some(Some("Mazovia")));
        assert_eq!(field(&c, UserField::City), Some(Some("Warsaw")));
    }

    #[test]
    fn other_traits_are_custom_and_null_clears() {
        let c = changes(json!({"custom_integer": "123", "prefs": {"a": 1}, "email": null}));
        assert_eq!(field(&c, UserField::Email), Some(None));
        assert_eq!(c.custom.len(), 2);
    }
}
