//! The query string of a read request (`GET /v1/users?where=...&limit=10`) as the
//! query layer's typed requests: the same names as the command line's flags (`not_did`
//! for `--not-did`), repeatable where the flag is.

use anyhow::Result;

use super::Window;
use super::companies::CompanyFilter;
use super::history::HistoryFilter;
use super::rejections::RejectionFilter;
use super::users::UserFilter;
use crate::Error;
use crate::output::Format;

/// A list's rows when the request gives no `limit`; `limit=0` asks for all.
pub const DEFAULT_LIMIT: u64 = 100;

/// Decoded query parameters, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

fn usage(message: String) -> anyhow::Error {
    Error::Usage(message).into()
}

impl Params {
    /// Decodes a query string (`None`: no `?`).
    pub fn parse(query: Option<&str>) -> Params {
        Params {
            pairs: url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        }
    }

    /// Refuses a parameter the endpoint does not take (a typo is not ignored).
    pub fn only(&self, known: &[&str]) -> Result<()> {
        match self
            .pairs
            .iter()
            .find(|(k, _)| !known.contains(&k.as_str()))
        {
            Some((key, _)) => Err(usage(format!(
                "unknown query parameter {key:?}: this endpoint takes {}",
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// Every value of a repeatable parameter.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The value of a parameter given at most once.
    pub fn one(&self, key: &str) -> Result<Option<String>> {
        let mut values = self.all(key);
        match values.len() {
            0 => Ok(None),
            1 => Ok(values.pop()),
            _ => Err(usage(format!("{key} is given more than once"))),
        }
    }

    fn number(&self, key: &str) -> Result<Option<u64>> {
        self.one(key)?
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| usage(format!("{key}={v:?}: expected a whole number")))
            })
            .transpose()
    }

    /// `limit` (default [`DEFAULT_LIMIT`], 0 for all) and `offset`.
    pub fn window(&self) -> Result<Window> {
        let limit = match self.number("limit")? {
            None => Some(DEFAULT_LIMIT),
            Some(0) => None,
            Some(n) => Some(n),
        };
        Ok(Window {
            limit,
            offset: self.number("offset")?.unwrap_or(0),
        })
    }

    /// `format`: `json` (the default: `{"items", "total", "limit", "offset"}`), `ndjson`
    /// or `csv` (the CLI's `--ndjson` / `--csv` output).
    pub fn format(&self) -> Result<Format> {
        match self.one("format")?.as_deref() {
            None | Some("json") => Ok(Format::Json),
            Some("ndjson") => Ok(Format::Ndjson),
            Some("csv") => Ok(Format::Csv),
            Some(other) => Err(usage(format!("format={other:?}: use json, ndjson or csv"))),
        }
    }

    /// The filters of `users list`.
    pub fn user_filter(&self) -> Result<UserFilter> {
        Ok(UserFilter {
            filters: self.all("where"),
            did: self.all("did"),
            not_did: self.all("not_did"),
            since: self.one("since")?,
            until: self.one("until")?,
            at_least: self.number("at_least")?,
            visited: self.all("visited"),
            not_visited: self.all("not_visited"),
            in_company: self.all("in_company"),
            seen_since: self.one("seen_since")?,
            sort: self.one("sort")?,
        })
    }

    /// The filters of `companies list`.
    pub fn company_filter(&self) -> Result<CompanyFilter> {
        Ok(CompanyFilter {
            filters: self.all("where"),
            sort: self.one("sort")?,
        })
    }

    /// The filters of `events list` / `pages list` and their stats.
    pub fn history_filter(&self) -> Result<HistoryFilter> {
        Ok(HistoryFilter {
            user: self.one("user")?,
            name: self.one("name")?,
            url: self.one("url")?,
            since: self.one("since")?,
            until: self.one("until")?,
        })
    }

    /// The filters of `rejections list`.
    pub fn rejection_filter(&self) -> Result<RejectionFilter> {
        Ok(RejectionFilter {
            since: self.one("since")?,
            reason: self.one("reason")?,
        })
    }
}

/// The parameters of `GET /v1/users`.
pub const USER_PARAMS: [&str; 14] = [
    "where",
    "did",
    "not_did",
    "since",
    "until",
    "at_least",
    "visited",
    "not_visited",
    "in_company",
    "seen_since",
    "sort",
    "limit",
    "offset",
    "format",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_become_the_cli_filters() {
        let p = Params::parse(Some(
            "where=country%3DPoland&where=custom_integer%3E100&did=Order+Completed&since=30d&limit=5&offset=10&format=csv",
        ));
        p.only(&USER_PARAMS).unwrap();
        let f = p.user_filter().unwrap();
        assert_eq!(f.filters, ["country=Poland", "custom_integer>100"]);
        assert_eq!(f.did, ["Order Completed"]);
        assert_eq!(f.since.as_deref(), Some("30d"));
        assert_eq!(
            p.window().unwrap(),
            Window {
                limit: Some(5),
                offset: 10
            }
        );
        assert_eq!(p.format().unwrap(), Format::Csv);
        let none = Params::parse(None);
        assert_eq!(none.window().unwrap().limit, Some(DEFAULT_LIMIT));
        assert_eq!(none.format().unwrap(), Format::Json);
        assert_eq!(Params::parse(Some("limit=0")).window().unwrap().limit, None);
        assert!(Params::parse(Some("limit=x")).window().is_err());
        assert!(Params::parse(Some("sort=a&sort=b")).user_filter().is_err());
        assert!(Params::parse(Some("format=xml")).format().is_err());
        let typo = Params::parse(Some("wher=x"))
            .only(&USER_PARAMS)
            .unwrap_err();
        assert!(
            typo.to_string()
                .contains("unknown query parameter \"wher\"")
        );
    }
}
