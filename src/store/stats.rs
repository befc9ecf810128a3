//! Aggregates of events and page views: per bucket, the occurrences, distinct users and
//! first and last times. Several bucketings of the same rows are counted in one pass.

use foldhash::{HashMap, HashMapExt, HashSet};

use anyhow::{Result, bail};
use rusqlite::{OptionalExtension, Row, params_from_iter};

use super::Store;
use super::query::{Binder, Bucket, HistoryQuery, StatRow};
use crate::semantics::filter::week_of;

impl Store {
    /// Event occurrences per bucket, for each bucketing of `bys`, in one pass over the
    /// rows: counts and distinct users. Names, users: most first; times: oldest first.
    pub fn event_stats_by(&self, bys: &[Bucket], q: &HistoryQuery) -> Result<Vec<Vec<StatRow>>> {
        if let Some(by) = bys.iter().find(|b| matches!(b, Bucket::Url | Bucket::Path)) {
            bail!(
                "events have no {}: aggregate them by name, day, week, month or user",
                by.as_str()
            );
        }
        self.stats("events", "e", bys, q)
    }

    /// Page views per bucket, for each bucketing of `bys`, in one pass: counts and
    /// distinct users.
    pub fn page_stats_by(&self, bys: &[Bucket], q: &HistoryQuery) -> Result<Vec<Vec<StatRow>>> {
        self.stats("pages", "p", bys, q)
    }

    /// Aggregates in one pass over the matching rows (SQLite's GROUP BY with
    /// count(DISTINCT) sorts every row: several times slower on millions).
    fn stats(
        &self,
        table: &'static str,
        a: &'static str,
        bys: &[Bucket],
        q: &HistoryQuery,
    ) -> Result<Vec<Vec<StatRow>>> {
        // Columns 0 and 1: the user and the time; then the text key of each bucketing
        // that has one.
        let mut columns = vec![format!("{a}.user_ref"), format!("{a}.timestamp")];
        let mut tallies: Vec<Tally> = bys
            .iter()
            .map(|&by| {
                let text = match by {
                    Bucket::Name => Some("name"),
                    Bucket::Url => Some("url"),
                    Bucket::Path => Some("path"),
                    Bucket::Day | Bucket::Week | Bucket::Month | Bucket::User => None,
                };
                let column = text.map(|c| {
                    columns.push(format!("{a}.{c}"));
                    columns.len() - 1
                });
                Tally::new(by, column)
            })
            .collect();
        let mut b = Binder::default();
        let filter = self.history_where(a, q, &mut b);
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {} FROM {table} {a} WHERE {filter}",
            columns.join(", ")
        ))?;
        let mut rows = stmt.query(params_from_iter(b.params))?;
        while let Some(r) = rows.next()? {
            let user: i64 = r.get(0)?;
            let time = r.get_ref(1)?.as_str()?;
            for tally in &mut tallies {
                tally.add(r, user, time)?;
            }
        }
        tallies.into_iter().map(|t| t.rows(self, q)).collect()
    }

    /// userId (else anonymousId) of the given profiles: point look-ups for a few, one
    /// pass over the table for many.
    fn user_names(
        &self,
        ids: impl ExactSizeIterator<Item = i64>,
    ) -> Result<HashMap<i64, Option<String>>> {
        let mut names = HashMap::with_capacity(ids.len());
        if ids.len() > 1000 {
            let mut stmt = self
                .conn()
                .prepare("SELECT id, coalesce(user_id, anonymous_id) FROM users")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            for row in rows {
                let (id, name) = row?;
                names.insert(id, name);
            }
        } else {
            let mut stmt = self.conn().prepare_cached(
                "SELECT coalesce(user_id, anonymous_id) FROM users WHERE id = ?1",
            )?;
            for id in ids {
                names.insert(id, stmt.query_row([id], |r| r.get(0)).optional()?.flatten());
            }
        }
        Ok(names)
    }
}

/// One bucketing of the rows, while they are read. Each row's key is looked up once
/// per bucketing (rows come in time or index order, so a row often has the previous
/// row's key: that is compared first, without hashing).
struct Tally {
    by: Bucket,
    /// The column of the text key (names, URLs, paths).
    column: Option<usize>,
    /// The buckets, and their keys (None: rows without a URL, path or name).
    buckets: Vec<Bucketed>,
    keys: Vec<Option<String>>,
    /// A bucket by the text a row gives (the day, for weeks), by its key, by user.
    by_text: HashMap<String, usize>,
    by_key: HashMap<Option<String>, usize>,
    by_user: HashMap<i64, usize>,
    /// The previous row's text and bucket.
    last: Option<(String, usize)>,
    last_user: Option<(i64, usize)>,
}

impl Tally {
    fn new(by: Bucket, column: Option<usize>) -> Tally {
        Tally {
            by,
            column,
            buckets: Vec::new(),
            keys: Vec::new(),
            by_text: HashMap::default(),
            by_key: HashMap::default(),
            by_user: HashMap::default(),
            last: None,
            last_user: None,
        }
    }

    fn add(&mut self, r: &Row, user: i64, time: &str) -> Result<()> {
        if self.by == Bucket::User {
            let i = match self.last_user {
                Some((u, i)) if u == user => i,
                _ => {
                    let next = self.buckets.len();
                    let i = *self.by_user.entry(user).or_insert(next);
                    if i == next {
                        self.buckets.push(Bucketed::new(time));
                        self.keys.push(None);
                    }
                    self.last_user = Some((user, i));
                    i
                }
            };
            self.buckets[i].add(user, time, false);
            return Ok(());
        }
        let text: Option<&str> = match self.by {
            Bucket::Day | Bucket::Week => time.get(..10),
            Bucket::Month => time.get(..7),
            _ => match self.column {
                Some(column) => r.get_ref(column)?.as_str_or_null()?,
                None => None,
            },
        };
        let i = match text {
            None => self.bucket(None, time),
            Some(text) => match &self.last {
                Some((last, i)) if last == text => *i,
                _ => {
                    let i = match self.by_text.get(text) {
                        Some(&i) => i,
                        None => {
                            let key = if self.by == Bucket::Week {
                                week_of(text)
                            } else {
                                Some(text.to_string())
                            };
                            let i = self.bucket(key, time);
                            self.by_text.insert(text.to_string(), i);
                            i
                        }
                    };
                    match &mut self.last {
                        Some((last, at)) => {
                            set(last, text);
                            *at = i;
                        }
                        None => self.last = Some((text.to_string(), i)),
                    }
                    i
                }
            },
        };
        self.buckets[i].add(user, time, true);
        Ok(())
    }

    /// The bucket of `key`, made when new.
    fn bucket(&mut self, key: Option<String>, time: &str) -> usize {
        if let Some(&i) = self.by_key.get(&key) {
            return i;
        }
        let i = self.buckets.len();
        self.buckets.push(Bucketed::new(time));
        self.keys.push(key.clone());
        self.by_key.insert(key, i);
        i
    }

    /// The buckets in order, windowed by the query's offset and limit.
    fn rows(self, store: &Store, q: &HistoryQuery) -> Result<Vec<StatRow>> {
        let by = self.by;
        let mut keys = self.keys;
        if by == Bucket::User {
            let names = store.user_names(self.by_user.keys().copied())?;
            for (user, i) in self.by_user {
                keys[i] = names.get(&user).cloned().flatten();
            }
        }
        let mut out: Vec<StatRow> = self
            .buckets
            .into_iter()
            .zip(keys)
            .map(|(acc, key)| acc.row(key))
            .collect();
        if by.is_time() {
            out.sort_by(|x, y| x.key.cmp(&y.key));
        } else {
            out.sort_by(|x, y| y.count.cmp(&x.count).then_with(|| x.key.cmp(&y.key)));
        }
        out.drain(..out.len().min(q.offset.min(usize::MAX as u64) as usize));
        if let Some(n) = q.limit {
            out.truncate(n.min(usize::MAX as u64) as usize);
        }
        Ok(out)
    }
}

/// Replaces a string's text, keeping its allocation (`replace_range` is several times
/// slower, and this runs for most rows).
fn set(s: &mut String, text: &str) {
    s.clear();
    s.push_str(text);
}

/// One bucket of an aggregate, while rows are read.
struct Bucketed {
    count: i64,
    users: HashSet<i64>,
    /// The user of the bucket's previous row (not looked up again).
    last_user: Option<i64>,
    first: String,
    last: String,
}

impl Bucketed {
    fn new(time: &str) -> Bucketed {
        Bucketed {
            count: 0,
            users: HashSet::default(),
            last_user: None,
            first: time.to_string(),
            last: time.to_string(),
        }
    }

    fn add(&mut self, user: i64, time: &str, distinct_users: bool) {
        self.count += 1;
        if distinct_users && self.last_user != Some(user) {
            self.users.insert(user);
            self.last_user = Some(user);
        }
        if time < self.first.as_str() {
            set(&mut self.first, time);
        }
        if time > self.last.as_str() {
            set(&mut self.last, time);
        }
    }

    fn row(self, key: Option<String>) -> StatRow {
        StatRow {
            key,
            count: self.count,
            // A bucket per user has that one user.
            users: (self.users.len() as i64).max(1),
            first: self.first,
            last: self.last,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewPage;

    #[test]
    fn bucketings_counted_together_match_each_alone() {
        let store = Store::open_in_memory().unwrap();
        let views = [
            (
                "m1",
                1,
                Some("Home"),
                Some("https://a.example/"),
                "2026-03-02T10:00:00.000Z",
            ),
            (
                "m2",
                2,
                Some("Home"),
                Some("https://a.example/"),
                "2026-03-02T11:00:00.000Z",
            ),
            (
                "m3",
                1,
                Some("Pricing"),
                Some("https://a.example/pricing"),
                "2026-03-09T09:00:00.000Z",
            ),
            ("m4", 3, None, None, "2026-04-01T00:00:00.000Z"),
        ];
        for (message_id, user_ref, name, url, timestamp) in views {
            store
                .insert_page(&NewPage {
                    message_id,
                    user_ref,
                    anon_ref: None,
                    anonymous_id: None,
                    name,
                    url,
                    path: None,
                    title: None,
                    referrer: None,
                    timestamp,
                    properties: "{}",
                })
                .unwrap();
        }
        let q = HistoryQuery::default();
        let bys = [Bucket::Name, Bucket::Week, Bucket::Url, Bucket::Month];
        let together = store.page_stats_by(&bys, &q).unwrap();
        assert_eq!(together.len(), bys.len());
        for (by, rows) in bys.iter().zip(&together) {
            assert_eq!(rows, &store.page_stats_by(&[*by], &q).unwrap()[0], "{by:?}");
        }
        let names: Vec<_> = together[0]
            .iter()
            .map(|r| (r.key.as_deref(), r.count, r.users))
            .collect();
        assert_eq!(
            names,
            [(Some("Home"), 2, 2), (None, 1, 1), (Some("Pricing"), 1, 1)]
        );
        let months: Vec<_> = together[3]
            .iter()
            .map(|r| (r.key.clone(), r.count))
            .collect();
        assert_eq!(
            months,
            [
                (Some("2026-03".to_string()), 3),
                (Some("2026-04".to_string()), 1)
            ]
        );
        assert!(
            store
                .event_stats_by(&[Bucket::Name, Bucket::Url], &q)
                .is_err()
        );
    }
}
