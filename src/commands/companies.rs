//! `usercom companies`: company profiles.

use anyhow::Result;
use chrono::Utc;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::users::{TABLE_LIMIT, effective_limit, plain, print_count, usage};
use crate::Error;
use crate::output::{
    Format, ListFormat, ListSink, cell, print_json, print_text, table, terminal_safe,
};
use crate::semantics::attributes::{AttrType, Scope};
use crate::semantics::filter::{Schema, predicate, sort_key};
use crate::store::{CompanyQuery, CompanyView, Store};

#[derive(Debug, Subcommand)]
pub enum CompaniesCommand {
    /// Show one company: fields, custom attributes with types, members.
    Show {
        /// The company's groupId.
        group_id: String,
    },
    /// List companies, optionally filtered by fields and attributes, with member counts.
    #[command(long_about = LIST_ABOUT)]
    List(ListArgs),
    /// Which event set each field and attribute, by which rule, and what it replaced.
    #[command(long_about = super::explain::EXPLAIN_ABOUT)]
    Explain(super::explain::ExplainArgs),
}

const LIST_ABOUT: &str = "\
List companies, optionally filtered by fields and custom attributes, with member counts.

Every filter given must hold. Examples:
  usercom companies list --where 'employees>=50' --where 'country=Poland'
  usercom companies list --where 'members>=2' --sort members:desc
  usercom companies list --where 'name~acme' --json

A table shows the first 100 companies unless --limit or --all says otherwise; --json,
--ndjson and --csv print every matching company unless --limit is given.";

/// `companies list`: filters, order, limit, format.
#[derive(Debug, Clone, Default, Args)]
pub struct ListArgs {
    /// Only companies for whom EXPR holds (repeatable): FIELD OP VALUE with OP one of
    /// = != > >= < <= ~ (contains, case-insensitive), or 'FIELD is null', 'FIELD is not
    /// null'. FIELD is a company field (group_id, name, employees, country, ..., members:
    /// the member count) or a company attribute; VALUE is read as the field's type.
    #[arg(long = "where", value_name = "EXPR")]
    pub filters: Vec<String>,
    /// Order by a field or attribute (missing values last) [default: groupId].
    #[arg(long, value_name = "FIELD[:desc]")]
    pub sort: Option<String>,
    /// At most N companies; 0 for all [default: 100 in a table, all with
    /// --json/--ndjson/--csv].
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Every matching company (same as --limit 0).
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,
    /// Print only how many companies match.
    #[arg(long, conflicts_with_all = ["sort", "limit", "all"])]
    pub count: bool,
    #[command(flatten)]
    pub format: ListFormat,
}

/// A company as listed: the view and its member count.
#[derive(Serialize)]
struct CompanyRow<'a> {
    #[serde(flatten)]
    company: &'a CompanyView,
    member_count: usize,
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

/// CSV columns: every field, then one column per company attribute.
fn csv_headers(attributes: &[(String, i64, AttrType)]) -> Vec<String> {
    let mut headers: Vec<String> = FIELDS.map(String::from).to_vec();
    headers.extend(["members", "member_ids", "created_at", "updated_at"].map(String::from));
    let mut names: Vec<&String> = attributes.iter().map(|(name, _, _)| name).collect();
    names.sort();
    headers.extend(names.into_iter().map(|a| format!("attributes.{a}")));
    headers
}

const TABLE_COLUMNS: [&str; 6] = [
    "group_id",
    "name",
    "employees",
    "city",
    "country",
    "members",
];

pub fn run(cmd: CompaniesCommand, store: &Store, json: bool) -> Result<i32> {
    match cmd {
        CompaniesCommand::Explain(args) => return super::explain::run_company(args, store, json),
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
        CompaniesCommand::List(args) => list(store, &args, json)?,
    }
    Ok(0)
}

fn list(store: &Store, args: &ListArgs, json: bool) -> Result<()> {
    let attributes = store.attribute_schema(Scope::Company)?;
    let schema = Schema::companies(attributes.clone());
    let now = Utc::now();
    let mut query = CompanyQuery {
        predicates: args
            .filters
            .iter()
            .map(|f| predicate(f, &schema, now).map_err(usage))
            .collect::<Result<_>>()?,
        sort: args
            .sort
            .as_deref()
            .map(|s| sort_key(s, &schema).map_err(usage))
            .transpose()?,
        limit: None,
    };
    if args.count {
        return print_count(store.count_companies(&query)?, json);
    }
    let format = Format::for_list(json, &args.format);
    let (limit, by_default) = effective_limit(args.limit, args.all, format);
    query.limit = limit.map(|n| if by_default { n + 1 } else { n });
    let headers = match format {
        Format::Table => TABLE_COLUMNS.map(String::from).to_vec(),
        _ => csv_headers(&attributes),
    };
    let mut sink = ListSink::new(format, headers)?;
    let mut more = false;
    store.for_each_company(&query, |company| {
        if by_default && Some(sink.count() as u64) == limit {
            more = true;
            return Ok(());
        }
        let row = CompanyRow {
            member_count: company.members.len(),
            company: &company,
        };
        sink.push(&row, |headers| {
            headers.iter().map(|h| company.field(h)).collect()
        })
    })?;
    let shown = sink.finish()?;
    if more {
        eprintln!(
            "{shown} companies shown (the first {TABLE_LIMIT}); more match (--limit N or --all \
             for more, --count to count them)"
        );
    } else if format == Format::Table {
        let noun = if shown == 1 { "company" } else { "companies" };
        eprintln!("{shown} {noun}");
    }
    Ok(())
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
        terminal_safe(&c.members.join(", "))
    ));
    print_text(out)
}
