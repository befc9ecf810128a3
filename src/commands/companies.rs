//! `usercom companies`: company profiles.

use std::collections::BTreeSet;

use anyhow::Result;
use clap::Subcommand;

use super::users::plain;
use crate::Error;
use crate::output::{Format, ListFormat, Tabular, cell, print_json, print_list, print_text, table};
use crate::store::{CompanyView, Store};

#[derive(Debug, Subcommand)]
pub enum CompaniesCommand {
    /// Show one company: fields, custom attributes with types, members.
    Show {
        /// The company's groupId.
        group_id: String,
    },
    /// List companies.
    List {
        #[command(flatten)]
        format: ListFormat,
    },
}

const FIELDS: [&str; 10] = [
    "group_id",
    "name",
    "email",
    "phone",
    "description",
    "address",
    "employees",
    "country",
    "region",
    "city",
];

impl CompanyView {
    fn field(&self, name: &str) -> String {
        match name {
            "group_id" => self.group_id.clone(),
            "name" => cell(self.name.as_deref()),
            "email" => cell(self.email.as_deref()),
            "phone" => cell(self.phone.as_deref()),
            "description" => cell(self.description.as_deref()),
            "address" => cell(self.address.as_deref()),
            "employees" => self.employees.as_ref().map(plain).unwrap_or_default(),
            "country" => cell(self.country.as_deref()),
            "region" => cell(self.region.as_deref()),
            "city" => cell(self.city.as_deref()),
            "members" => self.members.len().to_string(),
            "member_ids" => self.members.join(" "),
            "created_at" => self.created_at.clone(),
            "updated_at" => self.updated_at.clone(),
            other => other
                .strip_prefix("attributes.")
                .and_then(|a| self.attributes.get(a))
                .map(plain)
                .unwrap_or_default(),
        }
    }
}

impl Tabular for CompanyView {
    fn headers(rows: &[Self]) -> Vec<String> {
        let mut headers: Vec<String> = FIELDS.map(String::from).to_vec();
        headers.extend(["members", "member_ids", "created_at", "updated_at"].map(String::from));
        let attributes: BTreeSet<&String> = rows.iter().flat_map(|r| r.attributes.keys()).collect();
        headers.extend(attributes.into_iter().map(|a| format!("attributes.{a}")));
        headers
    }
    fn cells(&self, headers: &[String]) -> Vec<String> {
        headers.iter().map(|h| self.field(h)).collect()
    }
}

pub fn run(cmd: CompaniesCommand, store: &Store, json: bool) -> Result<i32> {
    match cmd {
        CompaniesCommand::Show { group_id } => {
            let Some(id) = store.company_ref(&group_id)? else {
                return Err(Error::NotFound(format!(
                    "no company with groupId {group_id:?} (see `usercom companies list`)"
                ))
                .into());
            };
            let company = store.company_view(id)?;
            if json {
                print_json(&company)?;
            } else {
                print_company(&company)?;
            }
        }
        CompaniesCommand::List { format } => {
            let companies = store
                .company_refs()?
                .into_iter()
                .map(|id| store.company_view(id))
                .collect::<Result<Vec<_>>>()?;
            let format = Format::for_list(json, &format);
            if format == Format::Table {
                let columns = [
                    "group_id",
                    "name",
                    "employees",
                    "city",
                    "country",
                    "members",
                ];
                let mut t = table(&columns);
                for c in &companies {
                    t.add_row(columns.map(|col| c.field(col)).to_vec());
                }
                print_text(t)?;
                eprintln!("{} companies", companies.len());
            } else {
                print_list(&companies, format)?;
            }
        }
    }
    Ok(0)
}

fn print_company(c: &CompanyView) -> Result<()> {
    let mut t = table(&["field", "value"]);
    for f in FIELDS {
        t.add_row(vec![f.to_string(), c.field(f)]);
    }
    t.add_row(vec!["created_at".to_string(), c.created_at.clone()]);
    t.add_row(vec!["updated_at".to_string(), c.updated_at.clone()]);
    let mut out = format!("{t}\n");
    if !c.attribute_types.is_empty() {
        let mut attrs = table(&["attribute", "type", "value"]);
        for (name, ty) in &c.attribute_types {
            attrs.add_row(vec![
                name.clone(),
                ty.to_string(),
                c.attributes.get(name).map(plain).unwrap_or_default(),
            ]);
        }
        out.push_str(&format!("\nCustom attributes\n{attrs}\n"));
    }
    out.push_str(&format!(
        "\nMembers ({}): {}",
        c.members.len(),
        c.members.join(", ")
    ));
    print_text(out)
}
