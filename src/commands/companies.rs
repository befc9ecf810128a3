//! `usercom companies`: company profiles.

use anyhow::Result;
use chrono::Utc;
use clap::{Args, Subcommand};

use super::lists::{ListControl, TABLE_LIMIT, print_count};
use crate::api::companies::{self as api, CompanyFilter, FIELDS, cell_of};
use crate::api::users::plain;
use crate::output::{Format, ListFormat, ListSink, print_json, print_text, table, terminal_safe};
use crate::semantics::attributes::Scope;
use crate::store::{CompanyView, Store};

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

FIELD in --where and --sort is a company field (group_id, name, employees, country, ...,
members: the member count) or a company attribute; --sort defaults to groupId.

A table shows the first 100 companies unless --limit or --all says otherwise; --json,
--ndjson and --csv print every matching company unless --limit is given.";

/// `companies list`: filters, order, limit, format.
#[derive(Debug, Clone, Default, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub control: ListControl,
    #[command(flatten)]
    pub format: ListFormat,
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
            let company = api::detail(store, &group_id)?;
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
    let filter = CompanyFilter {
        filters: args.control.filters.clone(),
        sort: args.control.sort.clone(),
    };
    let mut query = api::company_query(store, &filter, Utc::now())?;
    if args.control.count {
        return print_count(store.count_companies(&query)?, json);
    }
    let format = Format::for_list(json, &args.format);
    let (window, default_limit) = args.control.window(format);
    query.limit = window.limit;
    query.offset = window.offset;
    let headers = match format {
        Format::Table => TABLE_COLUMNS.map(String::from).to_vec(),
        _ => api::csv_headers(&store.attribute_schema(Scope::Company)?),
    };
    let mut more = false;
    let shown = api::write(
        store,
        &query,
        format,
        headers,
        ListSink::stdout(),
        |count| {
            let cut = default_limit == Some(count as u64);
            more |= cut;
            cut
        },
    )?;
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
        t.add_row(vec![f.to_string(), cell_of(c, f)]);
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
