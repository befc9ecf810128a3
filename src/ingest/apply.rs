//! Applying a decoded event: identity, profile fields and attributes, page views,
//! event occurrences, companies.

use anyhow::Result;
use heck::ToSnakeCase;
use serde_json::{Map, Value};

use super::owners::{Made, Write, write_values};
use super::{Ingestor, Location, Rejection};
use crate::ingest::IgnoredValue;
use crate::semantics::attributes::{AttrType, Scalar, Scope, attribute_name, convert};
use crate::semantics::domains::{host_of_url, is_trusted};
use crate::semantics::event::Decoded;
use crate::semantics::event::{Event, Kind};
use crate::semantics::identity;
use crate::semantics::lww::Clock;
use crate::semantics::profile::{Ignored, UserField};
use crate::semantics::provenance::{Outcome, Rule, Slot};
use crate::store::{NewPage, message_key, user_owner};

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

    pub(super) fn apply(&mut self, loc: Location<'_>, event: &mut Event) -> Result<()> {
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

    fn apply_user_changes(
        &mut self,
        loc: Location<'_>,
        user: i64,
        event: &mut Event,
    ) -> Result<()> {
        let clock = event.clock;
        let mut fields = std::mem::take(&mut event.prepared.context_fields);
        let changes = std::mem::take(&mut event.prepared.trait_changes);
        let event = &*event;
        if let Some(url) = event.page_url() {
            fields.push((UserField::CurrentUrl, Some(Scalar::Text(url.into()))));
        }
        let from_context = fields.len();
        if let Some(anon) = &event.anonymous_id
            && identity::shows_anonymous_id(self.find_anonymous(anon)?, user)
        {
            fields.push((
                UserField::AnonymousId,
                Some(Scalar::Text(anon.as_str().into())),
            ));
        }
        let from_identity = fields.len();
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
        let timestamp = event.prepared.time_text.as_str();
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
            timestamp,
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
        let timestamp = event.prepared.time_text.as_str();
        let (counts_for, anon_ref) = self.counts_for(user)?;
        self.store.insert_event(
            &event.message_id,
            counts_for,
            anon_ref,
            event.anonymous_id.as_deref(),
            name,
            timestamp,
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

    /// Applies an event decoded elsewhere (by [`crate::semantics::event::decode`], with the time given to events
    /// that carry none), so decoding can run on another thread; `raw` is its JSON text,
    /// kept for rejections.
    pub fn ingest_decoded(
        &mut self,
        loc: Location<'_>,
        decoded: Result<Decoded, String>,
        raw: &[u8],
    ) -> Result<super::Outcome> {
        self.summary.received += 1;
        self.apply_decoded(loc, decoded, raw)
    }

    /// [`Ingestor::ingest_decoded`] for an event already counted as received.
    pub(super) fn apply_decoded(
        &mut self,
        loc: Location<'_>,
        decoded: Result<Decoded, String>,
        raw: &[u8],
    ) -> Result<super::Outcome> {
        let mut event = match decoded {
            Ok(Decoded::Event(mut event)) => {
                if event.arrival_stamped {
                    event.clock = Clock::arrival(event.time, self.next_arrival());
                }
                event
            }
            Ok(Decoded::Skipped(reason)) => {
                self.summary.add_skipped(&reason);
                let skipped = Rejection {
                    source: loc.source.to_string(),
                    line: loc.line,
                    item: loc.item,
                    reason: reason.clone(),
                    truncated: false,
                    offset: None,
                };
                self.observer.skipped(&skipped, raw)?;
                return Ok(super::Outcome::Skipped(reason));
            }
            Err(reason) => {
                self.reject(loc, reason.clone(), raw)?;
                return Ok(super::Outcome::Rejected(reason));
            }
        };
        self.begin_if_needed()?;
        if let Some(reason) = self.forbidden_domain(&event) {
            self.reject(loc, reason.clone(), raw)?;
            return Ok(super::Outcome::Rejected(reason));
        }
        let key = message_key(event.message_id.as_bytes());
        if !self
            .messages
            .remember(self.store, &key, self.options.cache.pending_messages)?
        {
            self.summary.duplicates += 1;
            return Ok(super::Outcome::Duplicate);
        }
        self.apply(loc, &mut event)?;
        self.summary.applied += 1;
        let by_type = &mut self.summary.applied_by_type;
        match event.kind {
            crate::semantics::event::Kind::Identify => by_type.identify += 1,
            crate::semantics::event::Kind::Page => by_type.page += 1,
            crate::semantics::event::Kind::Track => by_type.track += 1,
            crate::semantics::event::Kind::Group => by_type.group += 1,
        }
        self.pending += 1;
        if self.messages.pending() >= self.options.cache.pending_messages {
            self.messages.write(self.store)?;
        }
        self.bound_unpacked();
        if self.pending >= self.options.batch_size && !self.in_unit {
            self.commit()?;
        } else if self.packed_bytes > self.options.cache.packed_bytes
            || self.companies.len() > self.options.cache.companies
        {
            // Bounded memory whatever the batch: write what is cached into the open
            // transaction and let some of it go.
            self.flush()?;
            self.evict();
        }
        Ok(super::Outcome::Applied)
    }

    /// The arrival sequence of the next event stamped with its arrival time (or
    /// `receivedAt`): among equal stamps the later arrival wins, in this run (input
    /// after input, line after line, item after item; request after request on a
    /// server) and against earlier runs, whose sequences are all lower: each run's
    /// starts at its start time in nanoseconds, and no run takes events faster than
    /// one a nanosecond.
    fn next_arrival(&mut self) -> i64 {
        self.arrivals += 1;
        self.arrival_base.saturating_add(self.arrivals)
    }
}
