//! The attribute definitions, cached for the run; unknown names are created.

use foldhash::HashMap;

use anyhow::Result;

use crate::semantics::attributes::{AttrType, Scope};
use crate::store::{Origin, Store};

/// Attribute id and type.
pub type Def = (i64, AttrType);

#[derive(Default)]
pub struct Registry {
    user: HashMap<String, Def>,
    company: HashMap<String, Def>,
    event: HashMap<String, HashMap<String, Def>>,
}

impl Registry {
    pub fn load(store: &Store) -> Result<Registry> {
        let mut registry = Registry::default();
        for def in store.attribute_defs()? {
            let entry = (def.id, def.ty);
            match def.scope {
                Scope::User => registry.user.insert(def.name, entry),
                Scope::Company => registry.company.insert(def.name, entry),
                Scope::Event => registry
                    .event
                    .entry(def.event.unwrap_or_default())
                    .or_default()
                    .insert(def.name, entry),
            };
        }
        Ok(registry)
    }

    /// The definition of `name`, created with type `auto_type` if it does not exist.
    pub fn get_or_create(
        &mut self,
        store: &Store,
        scope: Scope,
        event: &str,
        name: &str,
        auto_type: AttrType,
    ) -> Result<Def> {
        Ok(self
            .get_or_create_new(store, scope, event, name, auto_type)?
            .0)
    }

    /// As [`Registry::get_or_create`], and whether it was created now.
    pub fn get_or_create_new(
        &mut self,
        store: &Store,
        scope: Scope,
        event: &str,
        name: &str,
        auto_type: AttrType,
    ) -> Result<(Def, bool)> {
        let map = match scope {
            Scope::User => &mut self.user,
            Scope::Company => &mut self.company,
            Scope::Event => {
                if !self.event.contains_key(event) {
                    self.event.insert(event.to_string(), HashMap::default());
                }
                self.event.get_mut(event).expect("inserted above")
            }
        };
        if let Some(def) = map.get(name) {
            return Ok((*def, false));
        }
        let event = (scope == Scope::Event).then_some(event);
        let def = store.create_attribute(scope, event, name, auto_type, Origin::Auto)?;
        map.insert(name.to_string(), (def.id, def.ty));
        Ok(((def.id, def.ty), true))
    }
}
