//! Which profile an event is for: its userId and anonymousId looked up (in the cache,
//! then the database), the identity decision of [`crate::semantics::identity`] carried
//! out, and new profiles created.

use anyhow::Result;

use super::{Cached, Ingestor};
use crate::semantics::event::Event;
use crate::semantics::identity::{self, Holder, Known, Resolution};
use crate::semantics::profile::UserProfile;
use crate::semantics::provenance::Rule;

impl Ingestor<'_> {
    /// The profile an event lands on (a user's, or an anonymous record), as
    /// [`identity::resolve`] decides from what the store knows of its ids; carried out
    /// here (profiles created, anonymous records claimed, anonymousIds linked).
    pub(super) fn resolve_user(&mut self, event: &Event) -> Result<i64> {
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

    pub(super) fn find_user_id(&mut self, user_id: &str) -> Result<Option<i64>> {
        if let Some(id) = self.user_ids.get(user_id) {
            return Ok(Some(id));
        }
        let found = self.store.user_ref_by_user_id(user_id)?;
        if let Some(id) = found {
            self.user_ids.insert(user_id, id);
        }
        Ok(found)
    }

    pub(super) fn find_anonymous(&mut self, anon: &str) -> Result<Option<i64>> {
        if let Some(id) = self.anonymous_ids.get(anon) {
            return Ok(Some(id));
        }
        let found = self.store.user_ref_by_anonymous_id(anon)?;
        if let Some(id) = found {
            self.anonymous_ids.insert(anon, id);
        }
        Ok(found)
    }

    pub(super) fn link_anonymous(&mut self, anon: &str, id: i64) -> Result<()> {
        self.store.link_anonymous_id(anon, id)?;
        self.anonymous_ids.insert(anon, id);
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
            self.user_ids.insert(user_id, id);
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
}
