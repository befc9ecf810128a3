//! Explanations of a user's or a company's values (which event set each, by which
//! rule, what it replaced), as `users explain` / `companies explain`, the read API and
//! the web UI give them.

use anyhow::Result;

use crate::Error;
use crate::store::{Explanation, Store};

/// Whose values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Of {
    User,
    Company,
}

/// The explanation of every value (or the one named) of a user (userId, anonymousId
/// or email) or a company (groupId), with at most `history` writes per value, read in
/// one transaction. A name with neither a value nor a recorded write is not found.
pub fn explain(
    store: &Store,
    of: Of,
    id: &str,
    name: Option<&str>,
    history: usize,
) -> Result<Explanation> {
    let history = history.max(1);
    let e = match of {
        Of::User => {
            let id = super::users::resolve(store, id)?;
            store.snapshot(|s| s.explain_user(id, name, history))?
        }
        Of::Company => {
            let Some(id) = store.company_ref(id)? else {
                return Err(Error::NotFound(format!(
                    "no company with groupId {id:?} (see `usercom companies list`)"
                ))
                .into());
            };
            store.snapshot(|s| s.explain_company(id, name, history))?
        }
    };
    if let (Some(name), true) = (name, e.values.is_empty()) {
        return Err(Error::NotFound(format!(
            "{} {:?} has no field or attribute {name:?} with a value or a recorded write",
            e.kind, e.id
        ))
        .into());
    }
    Ok(e)
}
