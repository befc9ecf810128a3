//! What can be filtered and sorted on: the fields and custom attributes of users or
//! companies, with their types, and `--sort` keys.

use std::collections::HashMap;

use super::{FilterError, err};
use crate::semantics::attributes::AttrType;
use crate::semantics::company::CompanyField;
use crate::semantics::profile::UserField;

/// What a filter or sort key reads: a standard field (by its name) or a custom
/// attribute (by its definition's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Field(&'static str),
    Attribute(i64),
}

/// The fields and custom attributes of users or of companies, with their types.
#[derive(Debug, Clone)]
pub struct Schema {
    /// "user" or "company", for messages.
    noun: &'static str,
    fields: Vec<(&'static str, AttrType)>,
    attributes: HashMap<String, (i64, AttrType)>,
}

impl Schema {
    /// User profile fields, plus the given user attributes (name, id, type).
    pub fn users(attributes: impl IntoIterator<Item = (String, i64, AttrType)>) -> Schema {
        let mut fields = vec![("user_id", AttrType::String)];
        fields.extend(UserField::ALL.map(|f| (f.name(), AttrType::String)));
        fields.extend([
            ("page_views", AttrType::Number),
            ("last_seen", AttrType::Datetime),
            ("created_at", AttrType::Datetime),
            ("updated_at", AttrType::Datetime),
        ]);
        Schema::new("user", fields, attributes)
    }

    /// Company fields (`members` is the member count), plus company attributes.
    pub fn companies(attributes: impl IntoIterator<Item = (String, i64, AttrType)>) -> Schema {
        let mut fields = vec![("group_id", AttrType::String)];
        fields.extend(CompanyField::ALL.map(|f| {
            let ty = match f {
                CompanyField::Employees => AttrType::Number,
                _ => AttrType::String,
            };
            (f.name(), ty)
        }));
        fields.extend([
            ("members", AttrType::Number),
            ("created_at", AttrType::Datetime),
            ("updated_at", AttrType::Datetime),
        ]);
        Schema::new("company", fields, attributes)
    }

    fn new(
        noun: &'static str,
        fields: Vec<(&'static str, AttrType)>,
        attributes: impl IntoIterator<Item = (String, i64, AttrType)>,
    ) -> Schema {
        Schema {
            noun,
            fields,
            attributes: attributes
                .into_iter()
                .map(|(name, id, ty)| (name, (id, ty)))
                .collect(),
        }
    }

    /// The standard field names.
    pub fn field_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields.iter().map(|(n, _)| *n)
    }

    /// What a name refers to: a field first, then an attribute; `attributes.NAME`
    /// is always the attribute.
    pub fn lookup(&self, name: &str) -> Result<(Target, AttrType), FilterError> {
        if let Some((id, ty)) = name
            .strip_prefix("attributes.")
            .and_then(|attr| self.attributes.get(attr))
        {
            return Ok((Target::Attribute(*id), *ty));
        }
        if let Some((field, ty)) = self.fields.iter().find(|(f, _)| *f == name) {
            return Ok((Target::Field(field), *ty));
        }
        if let Some((id, ty)) = self.attributes.get(name) {
            return Ok((Target::Attribute(*id), *ty));
        }
        let noun = self.noun;
        err(format!(
            "unknown field {name:?}: not a {noun} field or {noun} attribute (fields: {}; \
             attributes: see `usercom attrs list --scope {noun}`)",
            self.fields
                .iter()
                .map(|(f, _)| *f)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// `--sort FIELD[:asc|:desc]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub target: Target,
    pub descending: bool,
}

pub fn sort_key(text: &str, schema: &Schema) -> Result<SortKey, FilterError> {
    let (name, descending) = match text.rsplit_once(':') {
        Some((name, "desc")) => (name, true),
        Some((name, "asc")) => (name, false),
        Some((_, other)) => {
            return err(format!(
                "--sort {text:?}: unknown direction {other:?}; use FIELD, FIELD:asc or FIELD:desc"
            ));
        }
        None => (text, false),
    };
    let (target, _) = schema
        .lookup(name.trim())
        .map_err(|e| FilterError(format!("--sort {text:?}: {e}")))?;
    Ok(SortKey { target, descending })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::filter::fixtures::schema;

    #[test]
    fn company_schema_has_members_and_employees() {
        let s = Schema::companies([]);
        assert_eq!(
            s.lookup("members").unwrap(),
            (Target::Field("members"), AttrType::Number)
        );
        assert_eq!(s.lookup("employees").unwrap().1, AttrType::Number);
        assert_eq!(s.lookup("name").unwrap().1, AttrType::String);
        let e = s.lookup("page_views").unwrap_err().0;
        assert!(e.contains("not a company field"), "{e}");
    }

    #[test]
    fn sort_keys() {
        let s = schema();
        assert_eq!(
            sort_key("page_views:desc", &s).unwrap(),
            SortKey {
                target: Target::Field("page_views"),
                descending: true
            }
        );
        assert_eq!(
            sort_key("custom_integer", &s).unwrap(),
            SortKey {
                target: Target::Attribute(1),
                descending: false
            }
        );
        assert!(!sort_key("email:asc", &s).unwrap().descending);
        assert!(
            sort_key("email:down", &s)
                .unwrap_err()
                .0
                .contains("unknown direction")
        );
        assert!(
            sort_key("nope", &s)
                .unwrap_err()
                .0
                .contains("unknown field \"nope\"")
        );
    }
}
