//! Companies: what group's traits do to a company profile.

use serde_json::{Map, Value};

use super::attributes::{AttrType, convert};
use super::profile::{Record, TraitChanges, location};

/// A company profile's standard fields, in storage order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompanyField {
    Name,
    Email,
    Phone,
    Description,
    Address,
    Employees,
    Country,
    Region,
    City,
}

impl CompanyField {
    pub const ALL: [CompanyField; 9] = [
        CompanyField::Name,
        CompanyField::Email,
        CompanyField::Phone,
        CompanyField::Description,
        CompanyField::Address,
        CompanyField::Employees,
        CompanyField::Country,
        CompanyField::Region,
        CompanyField::City,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CompanyField::Name => "name",
            CompanyField::Email => "email",
            CompanyField::Phone => "phone",
            CompanyField::Description => "description",
            CompanyField::Address => "address",
            CompanyField::Employees => "employees",
            CompanyField::Country => "country",
            CompanyField::Region => "region",
            CompanyField::City => "city",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A company profile.
#[derive(Debug, Clone, PartialEq)]
pub struct CompanyProfile {
    /// Row id in the store.
    pub id: i64,
    pub group_id: String,
    pub record: Record,
}

/// Keys group consumes for standard fields; every other trait is a company attribute.
pub const COMPANY_STANDARD_TRAITS: &[&str] = &[
    "name",
    "email",
    "phone",
    "description",
    "employees",
    "address",
    "country",
    "region",
    "city",
];

/// Maps group traits to company changes.
pub fn company_trait_changes(traits: &Map<String, Value>) -> TraitChanges<CompanyField> {
    let mut out = TraitChanges::default();
    for (key, field) in [
        ("name", CompanyField::Name),
        ("email", CompanyField::Email),
        ("phone", CompanyField::Phone),
        ("description", CompanyField::Description),
    ] {
        if let Some(v) = traits.get(key) {
            out.text(field, key, v);
        }
    }
    if let Some(v) = traits.get("employees") {
        match convert(v, AttrType::Number) {
            Ok(n) => out.fields.push((CompanyField::Employees, n)),
            Err(_) => out.ignore("employees", v, "not a number"),
        }
    }
    match traits.get("address") {
        Some(Value::Object(address)) => {
            if let Some(line) = format_address(address) {
                out.fields.push((
                    CompanyField::Address,
                    Some(super::attributes::Scalar::Text(line.into())),
                ));
            }
        }
        Some(other) => out.text(CompanyField::Address, "address", other),
        None => {}
    }
    let location_fields = [
        CompanyField::Country,
        CompanyField::Region,
        CompanyField::City,
    ];
    // A one-line (or null) address replaces a structured one whole: the parts it left
    // are cleared unless this event sends them, so they never disagree.
    let one_line = traits
        .get("address")
        .is_some_and(|a| a.is_string() || a.is_null());
    for ((name, value), field) in location(traits).into_iter().zip(location_fields) {
        match value {
            Some(v) => out.text(field, name, v),
            None if one_line => out.fields.push((field, None)),
            None => {}
        }
    }
    for (key, value) in traits {
        if !COMPANY_STANDARD_TRAITS.contains(&key.as_str()) {
            out.custom.push((key.clone(), value.clone()));
        }
    }
    out
}

/// One readable line: "6th St, San Francisco, CA 94103, USA".
pub fn format_address(address: &Map<String, Value>) -> Option<String> {
    let part = |key: &str| {
        address
            .get(key)
            .and_then(|v| match v {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
    };
    let region = part("state").or_else(|| part("region"));
    let postal = part("postalCode").or_else(|| part("postal_code"));
    let region_line = match (region, postal) {
        (Some(r), Some(p)) => Some(format!("{r} {p}")),
        (r, p) => r.or(p),
    };
    let parts: Vec<String> = [part("street"), part("city"), region_line, part("country")]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::attributes::Scalar;
    use serde_json::json;

    fn changes(traits: Value) -> TraitChanges<CompanyField> {
        company_trait_changes(traits.as_object().unwrap())
    }

    fn field(c: &TraitChanges<CompanyField>, f: CompanyField) -> Option<Option<Scalar>> {
        c.fields
            .iter()
            .find(|(k, _)| *k == f)
            .map(|(_, v)| v.clone())
    }

    #[test]
    fn semantic_traits_and_one_line_address() {
        let c = changes(json!({
            "name": "Initech", "email": "hi@initech.com", "phone": "555", "description": "TPS",
            "employees": "120", "industry": "Software",
            "address": {"street": "6th St", "city": "San Francisco", "state": "CA", "postalCode": "94103", "country": "USA"}
        }));
        assert_eq!(
            field(&c, CompanyField::Name),
            Some(Some(Scalar::Text("Initech".into())))
        );
        assert_eq!(
            field(&c, CompanyField::Employees),
            Some(Some(Scalar::Int(120)))
        );
        assert_eq!(
            field(&c, CompanyField::Address),
            Some(Some(Scalar::Text(
                "6th St, San Francisco, CA 94103, USA".into()
            )))
        );
        assert_eq!(
            field(&c, CompanyField::Region),
            Some(Some(Scalar::Text("CA".into())))
        );
        assert_eq!(
            field(&c, CompanyField::City),
            Some(Some(Scalar::Text("San Francisco".into())))
        );
        assert_eq!(
            field(&c, CompanyField::Country),
            Some(Some(Scalar::Text("USA".into())))
        );
        assert_eq!(c.custom, vec![("industry".to_string(), json!("Software"))]);
    }

    #[test]
    fn a_one_line_address_clears_the_parts_an_older_one_left() {
        let c = changes(json!({"address": "Unter den Linden 1, Berlin"}));
        assert_eq!(
            field(&c, CompanyField::Address),
            Some(Some(Scalar::Text("Unter den Linden 1, Berlin".into())))
        );
        for part in [
            CompanyField::Country,
            CompanyField::Region,
            CompanyField::City,
        ] {
            assert_eq!(field(&c, part), Some(None), "{part:?}");
        }
        // Parts sent alongside are kept.
        let c = changes(json!({"address": "Unter den Linden 1", "city": "Berlin"}));
        assert_eq!(
            field(&c, CompanyField::City),
            Some(Some(Scalar::Text("Berlin".into())))
        );
        assert_eq!(field(&c, CompanyField::Country), Some(None));
        let c = changes(json!({"address": null}));
        assert_eq!(field(&c, CompanyField::Address), Some(None));
        assert_eq!(field(&c, CompanyField::City), Some(None));
    }

    #[test]
    fn employees_must_be_a_number() {
        let c = changes(json!({"employees": "lots"}));
        assert_eq!(field(&c, CompanyField::Employees), None);
        assert_eq!(c.ignored[0].attribute, "employees");
    }

    #[test]
    fn null_trait_clears() {
        let c = changes(json!({"description": null}));
        assert_eq!(field(&c, CompanyField::Description), Some(None));
    }

    #[test]
    fn partial_addresses() {
        let a = json!({"city": "Berlin", "country": "DE"});
        assert_eq!(
            format_address(a.as_object().unwrap()).unwrap(),
            "Berlin, DE"
        );
        assert_eq!(format_address(&Map::new()), None);
    }
}
