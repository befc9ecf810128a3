//! Applying a decoded event: identity, profile fields and attributes, page views,
//! event occurrences, companies.

use anyhow::Result;
use heck::ToSnakeCase;
use serde_json::{Map, Value};

use super::owners::{Made, Write, write_values};
use super::{Cached, Ingestor, Location};
use crate::ingest::IgnoredValue;
use crate::semantics::attributes::{AttrType, Scalar, Scope, attribute_name, convert};
use crate::semantics::context::{context_fields, user_agent};
use crate::semantics::domains::{host_of_url, is_trusted};
use crate::semantics::event::{Event, Kind};
use crate::semantics::identity::{self, Holder, Known, Resolution};
use crate::semantics::packed::unpack_user;
use crate::semantics::profile::{Ignored, UserField, UserProfile, user_trait_changes};
use crate::semantics::provenance::{Outcome, Rule, Slot};
use crate::semantics::time::format_timestamp;
use crate::store::{NewPage, user_owner};

use super::provenance::{TypedWrite, field_rules};

impl Ingestor<'_> {
    /// The 403 reason when the event's domain is known and not trusted.
    pub(super) fn forbidden_domain(&self, event: &Event) -> Option<String> {
        if self.trusted.is_empty() {
            return None;
        }
        let host = match &self.origin_host {
            Some(origin) => origin.clone(),
            None => host_of_url(event.page_url()?)?,
        };
        (!is_trusted(&host, &self.trusted))
            .then(|| format!("403 Forbidden: domain {host} is not trusted"))
    }

    pub(super) fn apply(&mut self, loc: Location<'_>, event: &Event) -> Result<()> {
        self.report_ignored(loc, &event.ignored);
        let user = self.resolve_user(event)?;
        self.apply_user_changes(loc, user, event)?;
        self.flush_provenance(user_owner(user), loc, event)?;
        match event.kind {
            Kind::Identify => {}
            Kind::Page => self.apply_page(user, event)?,
            Kind::Track => self.apply_track(loc, user, event)?,
            Kind::Group => self.apply_group(loc, user, event)?,
        }
        Ok(())
    }

    // ---- identity ----

    /// The profile an event lands on (a user's, or an anonymous record), as
    /// [`identity::resolve`] decides from what the store knows of its ids; carried out
    /// here (profiles created, anonymous records claimed, anonymousIds linked).
    fn resolve_user(&mut self, event: &Event) -> Result<i64> {
        let user_id = event.user_id.as_deref();
        let anon = event.anonymous_id.as_deref();
        let user = match user_id {
            Some(user_id) => self.find_user_id(user_id)?,
            None => None,
        };
        let anonymous = match anon {
            Some(anon) => match self.find_anonymous(anon)? {
                Some(profile) => {
                    let found = &self.user(profile)?.profile;
                    Some(match found.user_id {
                        Some(_) => Holder::Identified(profile),
                        None => Holder::Record {
                            profile,
                            owner: found.owner,
                        },
                    })
                }
                None => None,
            },
            None => None,
        };
        let known = Known { user, anonymous };
        let resolution = identity::resolve(user_id.is_some(), anon.is_some(), event.clock, known);
        Ok(match resolution {
            Resolution::Existing { profile } => profile,
            Resolution::Create { link } => {
                let id = self.create_user(user_id, event)?;
                if let (true, Some(anon)) = (link, anon) {
                    self.link_anonymous(anon, id)?;
                }
                id
            }
            Resolution::Claim {
                anonymous,
                user,
                from,
            } => {
                let anon = anon.expect("a claim is made with an anonymousId");
                let existed = user.is_some();
                let user = match user {
                    Some(user) => user,
                    None => self.create_user(user_id, event)?,
                };
                let record = match anonymous {
                    Some(record) => record,
                    None => self.create_record(anon, event)?,
                };
                // Taken over by an earlier linking event: the record's former owner is named.
                let taken_from = match from {
                    Some(from) => {
                        self.release_record(record, from, user)?;
                        self.user(from)?.profile.user_id.clone()
                    }
                    None => None,
                };
                self.claim_record(record, user, event.clock)?;
                let rule = if existed { Rule::Merged } else { Rule::Claimed };
                self.record_profile(rule, anon, taken_from.as_deref());
                user
            }
            Resolution::Reclaim { anonymous, user } => {
                let record = self.user(anonymous)?;
                record.profile.owner = Some((user, event.clock));
                record.dirty = true;
                // The claim's time moves back to this event (explain keeps the earliest).
                if let Some(anon) = anon {
                    self.record_profile(Rule::Merged, anon, None);
                }
                user
            }
        })
    }

    fn find_user_id(&mut self, user_id: &str) -> Result<Option<i64>> {
        if let Some(id) = self.user_ids.get(user_id) {
            return Ok(Some(*id));
        }
        let found = self.store.user_ref_by_user_id(user_id)?;
        if let Some(id) = found {
            self.user_ids.insert(user_id.to_string(), id);
        }
        Ok(found)
    }

    fn find_anonymous(&mut self, anon: &str) -> Result<Option<i64>> {
        if let Some(id) = self.anonymous_ids.get(anon) {
            return Ok(Some(*id));
        }
        let found = self.store.user_ref_by_anonymous_id(anon)?;
        if let Some(id) = found {
            self.anonymous_ids.insert(anon.to_string(), id);
        }
        Ok(found)
    }

    pub(super) fn link_anonymous(&mut self, anon: &str, id: i64) -> Result<()> {
        self.store.link_anonymous_id(anon, id)?;
        self.anonymous_ids.insert(anon.to_string(), id);
        Ok(())
    }

    pub(super) fn create_user(&mut self, user_id: Option<&str>, event: &Event) -> Result<i64> {
        let id = self.next_user_ref;
        self.next_user_ref += 1;
        let mut cached = Cached::clean(UserProfile::new(
            id,
            user_id.map(str::to_string),
            event.time,
        ));
        cached.dirty = true;
        cached.is_new = true;
        self.users.insert(id, cached);
        if let Some(user_id) = user_id {
            self.user_ids.insert(user_id.to_string(), id);
        }
        Ok(id)
    }

    pub(super) fn user(&mut self, id: i64) -> Result<&mut Cached<UserProfile>> {
        if !self.users.contains_key(&id) {
            let cached = match self.unpack(id) {
                Some(cached) => cached,
                None => Cached::clean(self.store.load_user(id)?),
            };
            self.users.insert(id, cached);
        }
        let cached = self.users.get_mut(&id).expect("inserted above");
        cached.last_used = self.summary.received;
        Ok(cached)
    }

    // ---- profile fields and attributes ----

    fn apply_user_changes(&mut self, loc: Location<'_>, user: i64, event: &Event) -> Result<()> {
        let clock = event.clock;
        let ua = user_agent(&event.context).map(|ua| self.ua.get(ua));
        let mut fields: Vec<(UserField, Option<Scalar>)> =
            context_fields(&event.context, ua.as_deref())
                .into_iter()
                .map(|(f, v)| (f, Some(Scalar::Text(v))))
                .collect();
        if let Some(url) = event.page_url() {
            fields.push((UserField::CurrentUrl, Some(Scalar::Text(url.to_string()))));
        }
        let from_context = fields.len();
        if let Some(anon) = &event.anonymous_id
            && identity::shows_anonymous_id(self.find_anonymous(anon)?, user)
        {
            fields.push((UserField::AnonymousId, Some(Scalar::Text(anon.clone()))));
        }
        let from_identity = fields.len();
        let changes = user_trait_changes(&event.user_traits);
        fields.extend(changes.fields);
        self.report_ignored(loc, &changes.ignored);
        self.record_ignored(&changes.ignored);
        let traits = &event.user_traits;
        let name_split = traits.get("name").is_some_and(serde_json::Value::is_string)
            && !["first_name", "firstName", "last_name", "lastName"]
                .iter()
                .any(|k| traits.contains_key(*k));
        let audience = event.audience_key().map(|k| k.to_snake_case());
        let mut attributes = Vec::with_capacity(changes.custom.len());
        for (name, value) in &changes.custom {
            let auto_type = if audience.as_deref() == Some(name.as_str()) {
                AttrType::Boolean
            } else {
                AttrType::String
            };
            if let Some(attr) = self.typed_value(loc, Scope::User, "", name, value, auto_type)? {
                attributes.push((name.as_str(), attr));
            }
        }
        let fields_named = field_rules(&fields, from_context, from_identity, name_split);
        let attributes_named: Vec<(&str, Rule, &str)> = attributes
            .iter()
            .map(|(name, w)| (*name, w.rule, w.detail()))
            .collect();
        let attributes: Vec<(i64, Option<Scalar>)> = attributes
            .into_iter()
            .map(|(_, w)| (w.attr, w.value))
            .collect();
        let mut provenance = std::mem::take(&mut self.provenance);
        let cached = self.user(user)?;
        let own = |made: Made<'_>| {
            let (name, rule, detail) = match made.slot {
                Slot::Field => {
                    let (name, rule) = fields_named[made.position];
                    (name, rule, "")
                }
                _ => attributes_named[made.position],
            };
            provenance.scalar(made.slot, name, made.value, rule, made.outcome, detail);
        };
        let owner = cached.profile.owner.map(|(owner, _)| owner);
        // An anonymous record's values join its owner's too.
        let for_owner = owner.map(|owner| (owner, fields.clone(), attributes.clone()));
        write_values(
            cached,
            event.time,
            clock,
            fields,
            attributes,
            Write::Own,
            &mut { own },
        );
        if let Some((owner, fields, attributes)) = for_owner {
            let cached = self.user(owner)?;
            write_values(
                cached,
                event.time,
                clock,
                fields,
                attributes,
                Write::Owned,
                &mut |_| {},
            );
        }
        self.provenance = provenance;
        Ok(())
    }

    /// A custom value typed by its attribute (created with `auto_type` if new); None
    /// when it cannot be converted (reported).
    pub(super) fn typed_value(
        &mut self,
        loc: Location<'_>,
        scope: Scope,
        event: &str,
        name: &str,
        value: &Value,
        auto_type: AttrType,
    ) -> Result<Option<TypedWrite>> {
        let name = match attribute_name(scope, name) {
            Ok(name) => name,
            Err(reason) => {
                let ignored = Ignored {
                    attribute: name.to_string(),
                    value: value.to_string(),
                    reason,
                };
                self.report_ignored(loc, &[ignored]);
                return Ok(None);
            }
        };
        let ((id, ty), created) = self
            .registry
            .get_or_create_new(self.store, scope, event, name, auto_type)?;
        match convert(value, ty) {
            Ok(scalar) => Ok(Some(TypedWrite::new(
                id, ty, value, scalar, auto_type, created,
            ))),
            Err(err) => {
                let reason = format!(
                    "cannot be converted to {ty}: attribute {name} is {}",
                    err.ty
                );
                if scope != Scope::Event {
                    self.provenance.json(
                        Slot::Attribute,
                        name,
                        &value.to_string(),
                        Rule::Unconvertible,
                        Outcome::Ignored,
                        &reason,
                    );
                }
                self.report_ignored(
                    loc,
                    &[Ignored {
                        attribute: name.to_string(),
                        value: value.to_string(),
                        reason,
                    }],
                );
                Ok(None)
            }
        }
    }

    pub(super) fn report_ignored(&mut self, loc: Location<'_>, ignored: &[Ignored]) {
        for i in ignored {
            let value = IgnoredValue {
                source: loc.source.to_string(),
                line: loc.line,
                attribute: i.attribute.clone(),
                value: i.value.clone(),
                reason: i.reason.clone(),
            };
            self.observer.ignored(&value);
            self.summary.add_ignored(value);
        }
    }

    // ---- page, track, group ----

    fn apply_page(&mut self, user: i64, event: &Event) -> Result<()> {
        let cached = self.user(user)?;
        cached.profile.record_page_view(event.time);
        cached.dirty = true;
        let (counts_for, anon_ref) = self.counts_for(user)?;
        if counts_for != user {
            let owner = self.user(counts_for)?;
            owner.profile.record_page_view(event.time);
            owner.dirty = true;
        }
        let page_context = event.context.page.get();
        let field = |key: &str| -> Option<&str> {
            event
                .properties
                .get(key)
                .and_then(Value::as_str)
                .or_else(|| {
                    let page = page_context?;
                    let value = match key {
                        "url" => &page.url,
                        "path" => &page.path,
                        "title" => &page.title,
                        _ => &page.referrer,
                    };
                    value.get()?.as_str()
                })
        };
        let properties = serde_json::to_string(&event.properties)?;
        let timestamp = format_timestamp(event.time);
        self.store.insert_page(&NewPage {
            message_id: &event.message_id,
            user_ref: counts_for,
            anon_ref,
            anonymous_id: event.anonymous_id.as_deref(),
            name: event.name.as_deref(),
            url: field("url"),
            path: field("path"),
            title: field("title"),
            referrer: field("referrer"),
            timestamp: &timestamp,
            properties: &properties,
        })
    }

    fn apply_track(&mut self, loc: Location<'_>, user: i64, event: &Event) -> Result<()> {
        let name = event
            .name
            .as_deref()
            .expect("decode requires event for track");
        let mut properties = Map::new();
        for (key, value) in &event.properties {
            if let Some(w) =
                self.typed_value(loc, Scope::Event, name, key, value, AttrType::String)?
            {
                let key = key.trim();
                let ty = self.registry_type(name, key);
                properties.insert(
                    key.to_string(),
                    w.value.map(|s| s.to_json(ty)).unwrap_or(Value::Null),
                );
            }
        }
        let properties = Value::Object(properties).to_string();
        let timestamp = format_timestamp(event.time);
        let (counts_for, anon_ref) = self.counts_for(user)?;
        self.store.insert_event(
            &event.message_id,
            counts_for,
            anon_ref,
            event.anonymous_id.as_deref(),
            name,
            &timestamp,
            &properties,
        )
    }

    fn registry_type(&mut self, event: &str, name: &str) -> AttrType {
        self.registry
            .get_or_create(self.store, Scope::Event, event, name, AttrType::String)
            .map(|(_, ty)| ty)
            .unwrap_or(AttrType::String)
    }

    // ---- writing ----

    /// Writes every dirty profile.
    pub(super) fn flush(&mut self) -> Result<()> {
        // In row order: neighbouring rows share pages.
        let mut dirty: Vec<i64> = self
            .users
            .iter()
            .filter(|(_, c)| c.needs_write())
            .map(|(id, _)| *id)
            .chain(
                self.packed
                    .iter()
                    .filter(|(_, c)| c.needs_write())
                    .map(|(id, _)| *id),
            )
            .collect();
        dirty.sort_unstable();
        for id in dirty {
            if let Some(cached) = self.users.get_mut(&id) {
                let (write, attrs) = cached.write_state();
                self.store.save_user(&cached.profile, write, attrs)?;
            } else {
                let packed = self.packed.get_mut(&id).expect("listed above");
                let (write, attrs) = packed.write_state();
                let profile = unpack_user(&packed.profile, &self.shared);
                self.store.save_user(&profile, write, attrs)?;
            }
        }
        for cached in self.companies.values_mut() {
            if cached.needs_write() {
                // A company's row is inserted when it is first seen.
                let (_, attrs) = cached.write_state();
                self.store.save_company(&cached.profile, attrs)?;
            }
        }
        Ok(())
    }
}
