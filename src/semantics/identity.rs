//! Identity: which profile an event lands on, and when an anonymous profile is claimed
//! by a userId or merged into one. One pure decision, [`resolve`], that ingest carries
//! out against what the store knows.

/// Ids that sources put among traits (mobile libraries in `context.traits` on every
/// call): identities, never custom attributes.
pub const IDENTITY_TRAITS: &[&str] = &["userId", "anonymousId", "id"];

/// What the store knows of the ids an event carries (profiles by row id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Known {
    /// The profile with the event's userId, if the event has one and it exists.
    pub user: Option<i64>,
    /// The profile the event's anonymousId leads to, if the event has one and it does.
    pub anonymous: Option<Holder>,
}

/// A profile an anonymousId leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    pub profile: i64,
    /// The profile has a userId (an anonymousId that reached an identified user stays
    /// with that user).
    pub identified: bool,
}

/// What to do with an event's ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The event lands on this profile; `link` says to point its anonymousId at it (the
    /// anonymousId led nowhere yet).
    Existing { profile: i64, link: bool },
    /// The anonymous profile `anonymous` turned out to be the user of profile `into`:
    /// merge it in (its history, fields and attributes) and land there.
    Merge { anonymous: i64, into: i64 },
    /// The anonymous profile becomes the event's (new) userId and the event lands there.
    Claim { anonymous: i64 },
    /// A new profile, with the event's userId if any; `link` as for `Existing`.
    Create { link: bool },
}

/// Which profile an event with `has_user_id` (a userId) and `has_anonymous_id` lands on:
/// by userId, falling back to anonymousId; created when unknown. An event carrying both,
/// whose anonymousId leads to an anonymous profile, claims it for its userId: the
/// profile becomes that user, or is merged into the user's existing profile, so a
/// visitor's history is never split. An anonymousId that leads to another identified
/// user stays with that user.
pub fn resolve(has_user_id: bool, has_anonymous_id: bool, known: Known) -> Resolution {
    let anonymous = known.anonymous.filter(|_| has_anonymous_id);
    let link = has_anonymous_id && anonymous.is_none();
    if !has_user_id {
        return match anonymous {
            Some(holder) => Resolution::Existing {
                profile: holder.profile,
                link: false,
            },
            None => Resolution::Create { link },
        };
    }
    match (known.user, anonymous) {
        (Some(user), Some(holder)) if holder.profile != user && !holder.identified => {
            Resolution::Merge {
                anonymous: holder.profile,
                into: user,
            }
        }
        (Some(user), _) => Resolution::Existing {
            profile: user,
            link,
        },
        (None, Some(holder)) if !holder.identified => Resolution::Claim {
            anonymous: holder.profile,
        },
        (None, _) => Resolution::Create { link },
    }
}

/// Whether a profile shows the event's anonymousId: only when that id leads to it (it
/// may belong to another identified user).
pub fn shows_anonymous_id(leads_to: Option<i64>, profile: i64) -> bool {
    leads_to == Some(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(profile: i64) -> Option<Holder> {
        Some(Holder {
            profile,
            identified: false,
        })
    }

    fn identified(profile: i64) -> Option<Holder> {
        Some(Holder {
            profile,
            identified: true,
        })
    }

    #[test]
    fn an_anonymous_call_lands_on_its_anonymous_id() {
        let known = Known {
            user: None,
            anonymous: anon(3),
        };
        assert_eq!(
            resolve(false, true, known),
            Resolution::Existing {
                profile: 3,
                link: false
            }
        );
        assert_eq!(
            resolve(false, true, Known::default()),
            Resolution::Create { link: true }
        );
    }

    #[test]
    fn a_known_user_lands_on_its_profile_and_links_a_new_anonymous_id() {
        let known = Known {
            user: Some(1),
            anonymous: None,
        };
        assert_eq!(
            resolve(true, true, known),
            Resolution::Existing {
                profile: 1,
                link: true
            }
        );
        assert_eq!(
            resolve(true, false, known),
            Resolution::Existing {
                profile: 1,
                link: false
            }
        );
    }

    #[test]
    fn an_anonymous_profile_is_claimed_or_merged() {
        let claim = Known {
            user: None,
            anonymous: anon(4),
        };
        assert_eq!(
            resolve(true, true, claim),
            Resolution::Claim { anonymous: 4 }
        );
        let merge = Known {
            user: Some(1),
            anonymous: anon(4),
        };
        assert_eq!(
            resolve(true, true, merge),
            Resolution::Merge {
                anonymous: 4,
                into: 1
            }
        );
    }

    #[test]
    fn an_anonymous_id_that_reached_another_user_stays_there() {
        let known = Known {
            user: Some(1),
            anonymous: identified(2),
        };
        assert_eq!(
            resolve(true, true, known),
            Resolution::Existing {
                profile: 1,
                link: false
            }
        );
        let known = Known {
            user: None,
            anonymous: identified(2),
        };
        assert_eq!(
            resolve(true, true, known),
            Resolution::Create { link: false }
        );
        // Its own anonymousId again: nothing to do.
        let known = Known {
            user: Some(2),
            anonymous: identified(2),
        };
        assert_eq!(
            resolve(true, true, known),
            Resolution::Existing {
                profile: 2,
                link: false
            }
        );
    }

    #[test]
    fn only_the_anonymous_id_s_own_profile_shows_it() {
        assert!(shows_anonymous_id(Some(2), 2));
        assert!(!shows_anonymous_id(Some(2), 1));
        assert!(!shows_anonymous_id(None, 1));
    }
}
