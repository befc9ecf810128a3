//! Identity: which profile an event lands on, and who owns an anonymousId's history.
//! One pure decision, [`resolve`], that ingest carries out against what the store knows.
//!
//! Every anonymousId has an anonymous record: the profile its anonymous calls (no
//! userId) land on. A userId whose event carries the anonymousId claims the record: its
//! history and values join that user. When several userIds claim one anonymousId, the
//! owner is the one whose linking event is earliest (event time, then messageId), so the
//! record moves when an earlier claim arrives, whatever the input order.

use super::lww::Clock;

/// Ids that sources put among traits (mobile libraries in `context.traits` on every
/// call): identities, never custom attributes.
pub const IDENTITY_TRAITS: &[&str] = &["userId", "anonymousId", "id"];

/// What the store knows of the ids an event carries (profiles by row id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Known {
    /// The profile with the event's userId, if the event has one and it exists.
    pub user: Option<i64>,
    /// Where the event's anonymousId leads, if the event has one and it leads anywhere.
    pub anonymous: Option<Holder>,
}

/// Where an anonymousId leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// Its anonymous record, and the owner with the clock of the owner's earliest
    /// linking event, if claimed.
    Record {
        profile: i64,
        owner: Option<(i64, Clock)>,
    },
    /// Stored by an earlier release: straight to an identified profile, which keeps it.
    Identified(i64),
}

/// What to do with an event's ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The event lands on this profile (a user's, or an anonymous record).
    Existing { profile: i64 },
    /// A new profile: the event's userId's, else the anonymous record of its
    /// anonymousId (`link`: point the anonymousId at it).
    Create { link: bool },
    /// The event's userId (profile `user`, created when None) claims the anonymous
    /// record of its anonymousId (`anonymous`, created and linked when None), taking it
    /// from `from` if another user owned it; this event's clock becomes the claim's. The
    /// event lands on the user.
    Claim {
        anonymous: Option<i64>,
        user: Option<i64>,
        from: Option<i64>,
    },
    /// The owner's own earlier linking event: the claim's clock moves back to it. The
    /// event lands on the user.
    Reclaim { anonymous: i64, user: i64 },
}

/// Which profile an event lands on: by userId, falling back to the anonymousId's
/// record; created when unknown. An event carrying both claims the anonymous record for
/// its userId when nobody owns it yet or its owner's linking event is later than this
/// one (`clock`); the owner's own linking event earlier than its claim's moves the
/// claim's clock back. An anonymousId an earlier release gave to an identified user
/// stays with that user.
pub fn resolve(
    has_user_id: bool,
    has_anonymous_id: bool,
    clock: Clock,
    known: Known,
) -> Resolution {
    let anonymous = known.anonymous.filter(|_| has_anonymous_id);
    if !has_user_id {
        return match anonymous {
            Some(Holder::Record { profile, .. } | Holder::Identified(profile)) => {
                Resolution::Existing { profile }
            }
            None => Resolution::Create {
                link: has_anonymous_id,
            },
        };
    }
    let keep = match known.user {
        Some(profile) => Resolution::Existing { profile },
        None => Resolution::Create { link: false },
    };
    if !has_anonymous_id {
        return keep;
    }
    match anonymous {
        None => Resolution::Claim {
            anonymous: None,
            user: known.user,
            from: None,
        },
        Some(Holder::Identified(_)) => keep,
        Some(Holder::Record { profile, owner }) => match owner {
            Some((_, claimed)) if claimed <= clock => keep,
            Some((owner, _)) if Some(owner) == known.user => Resolution::Reclaim {
                anonymous: profile,
                user: owner,
            },
            owner => Resolution::Claim {
                anonymous: Some(profile),
                user: known.user,
                from: owner.map(|(owner, _)| owner),
            },
        },
    }
}

/// Whether a profile shows the event's anonymousId: only the profile that id leads to
/// (its anonymous record, whose values join its owner's).
pub fn shows_anonymous_id(leads_to: Option<i64>, profile: i64) -> bool {
    leads_to == Some(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> Clock {
        Clock { millis, tie: 0 }
    }

    fn record(profile: i64, owner: Option<(i64, i64)>) -> Option<Holder> {
        Some(Holder::Record {
            profile,
            owner: owner.map(|(o, t)| (o, at(t))),
        })
    }

    #[test]
    fn an_anonymous_call_lands_on_its_anonymous_record() {
        let known = Known {
            user: None,
            anonymous: record(3, Some((1, 5))),
        };
        assert_eq!(
            resolve(false, true, at(9), known),
            Resolution::Existing { profile: 3 }
        );
        assert_eq!(
            resolve(false, true, at(9), Known::default()),
            Resolution::Create { link: true }
        );
    }

    #[test]
    fn a_user_without_an_anonymous_id_lands_on_its_profile() {
        let known = Known {
            user: Some(1),
            anonymous: None,
        };
        assert_eq!(
            resolve(true, false, at(1), known),
            Resolution::Existing { profile: 1 }
        );
        assert_eq!(
            resolve(true, false, at(1), Known::default()),
            Resolution::Create { link: false }
        );
    }

    #[test]
    fn a_new_or_unclaimed_anonymous_id_is_claimed() {
        let known = Known {
            user: Some(1),
            anonymous: None,
        };
        assert_eq!(
            resolve(true, true, at(1), known),
            Resolution::Claim {
                anonymous: None,
                user: Some(1),
                from: None
            }
        );
        let known = Known {
            user: None,
            anonymous: record(4, None),
        };
        assert_eq!(
            resolve(true, true, at(1), known),
            Resolution::Claim {
                anonymous: Some(4),
                user: None,
                from: None
            }
        );
    }

    #[test]
    fn the_earliest_linking_event_owns_the_anonymous_record() {
        let owned = record(4, Some((1, 100)));
        // A later claim by another user: the owner keeps it.
        let known = Known {
            user: Some(2),
            anonymous: owned,
        };
        assert_eq!(
            resolve(true, true, at(200), known),
            Resolution::Existing { profile: 2 }
        );
        // An earlier one takes it.
        assert_eq!(
            resolve(true, true, at(50), known),
            Resolution::Claim {
                anonymous: Some(4),
                user: Some(2),
                from: Some(1)
            }
        );
        let new_user = Known {
            user: None,
            anonymous: owned,
        };
        assert_eq!(
            resolve(true, true, at(50), new_user),
            Resolution::Claim {
                anonymous: Some(4),
                user: None,
                from: Some(1)
            }
        );
        // The owner's own earlier linking event moves the claim back.
        let own = Known {
            user: Some(1),
            anonymous: owned,
        };
        assert_eq!(
            resolve(true, true, at(50), own),
            Resolution::Reclaim {
                anonymous: 4,
                user: 1
            }
        );
        assert_eq!(
            resolve(true, true, at(150), own),
            Resolution::Existing { profile: 1 }
        );
        // Ties go by the rest of the clock (the messageId's).
        let tied = Known {
            user: Some(2),
            anonymous: owned,
        };
        assert_eq!(
            resolve(
                true,
                true,
                Clock {
                    millis: 100,
                    tie: -1
                },
                tied
            ),
            Resolution::Claim {
                anonymous: Some(4),
                user: Some(2),
                from: Some(1)
            }
        );
    }

    #[test]
    fn an_anonymous_id_an_earlier_release_gave_a_user_stays_there() {
        let known = Known {
            user: Some(1),
            anonymous: Some(Holder::Identified(2)),
        };
        assert_eq!(
            resolve(true, true, at(1), known),
            Resolution::Existing { profile: 1 }
        );
        let known = Known {
            user: None,
            anonymous: Some(Holder::Identified(2)),
        };
        assert_eq!(
            resolve(true, true, at(1), known),
            Resolution::Create { link: false }
        );
        assert_eq!(
            resolve(false, true, at(1), known),
            Resolution::Existing { profile: 2 }
        );
    }

    #[test]
    fn only_the_anonymous_id_s_own_profile_shows_it() {
        assert!(shows_anonymous_id(Some(2), 2));
        assert!(!shows_anonymous_id(Some(2), 1));
        assert!(!shows_anonymous_id(None, 1));
    }
}
