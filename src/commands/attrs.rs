//! `usercom attrs`: attribute definitions and types.

use anyhow::Result;
use clap::Subcommand;

use crate::Error;
use crate::output::{
    Format, ListFormat, Tabular, cell, counted, print_json, print_list, terminal_safe, was,
};
use crate::semantics::attributes::{AttrType, Scope, attribute_name};
use crate::store::{AttrDef, Store, UnconvertedValue};

#[derive(Debug, Subcommand)]
pub enum AttrsCommand {
    /// Define an attribute's type (or change it: stored values are converted; values
    /// that cannot be are kept aside, see `attrs unconverted`).
    Define {
        /// The attribute name, as the trait or property key.
        name: String,
        /// string, number, boolean, date or datetime.
        #[arg(long = "type", value_name = "TYPE")]
        ty: AttrType,
        /// What the attribute belongs to [default: user, or event with --event].
        #[arg(long)]
        scope: Option<Scope>,
        /// The event whose property it is (scope event).
        #[arg(long, value_name = "NAME")]
        event: Option<String>,
    },
    /// List attributes with their types and origin (defined, or auto from data).
    List {
        #[arg(long)]
        scope: Option<Scope>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Values a type change could not convert (kept, not destroyed).
    Unconverted {
        /// Only this attribute.
        name: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
}

impl Tabular for AttrDef {
    fn headers(_: &[Self]) -> Vec<String> {
        ["scope", "event", "name", "type", "origin"]
            .map(String::from)
            .to_vec()
    }
    fn cells(&self, _: &[String]) -> Vec<String> {
        vec![
            self.scope.to_string(),
            cell(self.event.as_deref()),
            self.name.clone(),
            self.ty.to_string(),
            self.origin.as_str().to_string(),
        ]
    }
}

impl Tabular for UnconvertedValue {
    fn headers(_: &[Self]) -> Vec<String> {
        [
            "scope",
            "event",
            "name",
            "owner",
            "value",
            "from_type",
            "to_type",
            "at",
        ]
        .map(String::from)
        .to_vec()
    }
    fn cells(&self, _: &[String]) -> Vec<String> {
        vec![
            self.scope.to_string(),
            cell(self.event.as_deref()),
            self.name.clone(),
            self.owner.clone(),
            self.value.clone(),
            self.from_type.to_string(),
            self.to_type.to_string(),
            self.at.clone(),
        ]
    }
}

pub fn run(cmd: AttrsCommand, store: &Store, json: bool) -> Result<i32> {
    match cmd {
        AttrsCommand::Define {
            name,
            ty,
            scope,
            event,
        } => {
            let scope = scope.unwrap_or(if event.is_some() {
                Scope::Event
            } else {
                Scope::User
            });
            let name = attribute_name(scope, &name)
                .map_err(Error::Usage)?
                .to_string();
            let event = match (scope, event) {
                (Scope::Event, Some(e)) if !e.trim().is_empty() => Some(e),
                (Scope::Event, _) => {
                    return Err(Error::Usage(
                        "--scope event needs --event NAME (the track event's name)".into(),
                    )
                    .into());
                }
                (_, Some(_)) => {
                    return Err(Error::Usage(format!(
                        "--event goes with --scope event, not --scope {scope}"
                    ))
                    .into());
                }
                (_, None) => None,
            };
            let result = store.define_attribute(scope, event.as_deref(), &name, ty)?;
            if json {
                print_json(&result)?;
            } else {
                let what = match &event {
                    Some(e) => format!("{scope} attribute {name} of event {e:?}"),
                    None => format!("{scope} attribute {name}"),
                };
                match result.previous_type {
                    None => eprintln!("Defined {what} as {ty}."),
                    Some(prev) if prev == ty => eprintln!("{what} is already {ty}."),
                    Some(prev) => {
                        eprintln!(
                            "Changed {what} from {prev} to {ty}: {} {} converted.",
                            counted(result.converted as u64, "value", "values"),
                            was(result.converted as u64)
                        );
                        if !result.unconverted.is_empty() {
                            let n = result.unconverted.len() as u64;
                            eprintln!(
                                "{} could not be converted and {} kept aside:",
                                counted(n, "value", "values"),
                                was(n)
                            );
                            for u in result.unconverted.iter().take(20) {
                                let line = format!("{}: {}", u.owner, u.value);
                                eprintln!("  {}", terminal_safe(&line));
                            }
                            eprintln!("See them all with `usercom attrs unconverted {name}`.");
                        }
                    }
                }
            }
        }
        AttrsCommand::List { scope, format } => {
            let defs: Vec<AttrDef> = store
                .attribute_defs()?
                .into_iter()
                .filter(|d| scope.is_none_or(|s| s == d.scope))
                .collect();
            print_list(&defs, Format::for_list(json, &format))?;
        }
        AttrsCommand::Unconverted { name, format } => {
            print_list(
                &store.unconverted_values(name.as_deref())?,
                Format::for_list(json, &format),
            )?;
        }
    }
    Ok(0)
}
