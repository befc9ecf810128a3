//! Applying a group call: the company's fields and attributes (with their provenance)
//! and the caller's membership.

use anyhow::Result;

use super::provenance::{record_attribute, record_field};
use super::{Cached, Ingestor, Location};
use crate::semantics::attributes::{AttrType, Scope};
use crate::semantics::company::{CompanyField, CompanyProfile, company_trait_changes};
use crate::semantics::event::Event;
use crate::semantics::profile::Record;
use crate::semantics::provenance::Rule;
use crate::store::company_owner;

impl Ingestor<'_> {
    pub(super) fn apply_group(
        &mut self,
        loc: Location<'_>,
        user: i64,
        event: &Event,
    ) -> Result<()> {
        let group_id = event
            .group_id
            .as_deref()
            .expect("decode requires groupId for group");
        let company = self.company(group_id, event)?;
        let changes = company_trait_changes(&event.company_traits);
        self.report_ignored(loc, &changes.ignored);
        self.record_ignored(&changes.ignored);
        let mut attributes = Vec::with_capacity(changes.custom.len());
        for (name, value) in &changes.custom {
            if let Some(attr) =
                self.typed_value(loc, Scope::Company, "", name, value, AttrType::String)?
            {
                attributes.push((name.as_str(), attr));
            }
        }
        let mut provenance = std::mem::take(&mut self.provenance);
        let cached = self
            .companies
            .get_mut(&company)
            .expect("loaded by company()");
        let record: &mut Record = &mut cached.profile.record;
        let mut dirty = record.touch(event.time);
        for (field, value) in changes.fields {
            let rule = if value.is_none() {
                Rule::ClearedByNull
            } else {
                Rule::MappedTrait
            };
            let slot = (CompanyField::index(field), field.name());
            dirty |= record_field(&mut provenance, record, slot, value, rule, event.clock);
        }
        for (name, w) in attributes {
            record_attribute(
                &mut provenance,
                record,
                name,
                w,
                event.clock,
                &mut cached.dirty_attrs,
            );
        }
        cached.dirty |= dirty;
        self.provenance = provenance;
        self.flush_provenance(company_owner(company), loc, event)?;
        self.store.add_membership(company, user, event.time)
    }

    fn company(&mut self, group_id: &str, event: &Event) -> Result<i64> {
        let id = match self.group_ids.get(group_id) {
            Some(id) => *id,
            None => {
                let id = match self.store.company_ref(group_id)? {
                    Some(id) => id,
                    None => {
                        let id = self.store.insert_company(group_id, event.time)?;
                        let profile = CompanyProfile {
                            id,
                            group_id: group_id.to_string(),
                            record: Record::new(CompanyField::ALL.len(), event.time),
                        };
                        let mut cached = Cached::clean(profile);
                        cached.dirty = true;
                        self.companies.insert(id, cached);
                        id
                    }
                };
                self.group_ids.insert(group_id.to_string(), id);
                id
            }
        };
        if !self.companies.contains_key(&id) {
            let profile = self.store.load_company(id)?;
            self.companies.insert(id, Cached::clean(profile));
        }
        Ok(id)
    }
}
