#!/usr/bin/env bash
# Prints the README's "Asking questions" section: questions asked of fixtures/sample.ndjson, each with the real
# command and its real output (run with the debug build in a temporary database).
#
#   scripts/queries-doc.sh > /tmp/queries.md   # then paste it over that README section
set -u
cd "$(dirname "$0")/.."
cargo build --quiet --bin usercom || exit 1
export PATH="$PWD/target/debug:$PATH"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export USERCOM_DB="$tmp/usercom.db"
show() { echo '```console'; echo "\$ $1"; bash -c "$1" 2>&1; echo '```'; echo; }
KEY=$(usercom keys create 2>/dev/null)
cat <<'EOF'
## Asking questions: filter, bucket, export

Page views and event occurrences exist "to filter and bucket users". These are real
questions asked of the bundled sample stream (`fixtures/sample.ndjson`: 33 profiles, 3
companies, October 2026), with the real answers. To follow along:

```console
$ export USERCOM_DB=/tmp/usercom-queries.db
$ usercom ingest fixtures/sample.ndjson --api-key "$(usercom keys create)"
```

The sample's custom traits arrived before anyone defined them, so they were created as
strings (see `usercom attrs list`). Give the ones you compare their real types first;
stored values are converted:

EOF
usercom ingest fixtures/sample.ndjson --api-key "$KEY" >/dev/null 2>&1
show "usercom attrs define custom_integer --type number"
show "usercom attrs define vip --type boolean"
show "usercom attrs define signup_date --type date"
cat <<'EOF'
Relative times such as `--since 30d` count back from now. The sample is from October 2026,
so the examples below pin their windows with dates instead (`--since 2026-10-02` is "the
last 30 days" of the sample).

### Who completed an order in the last 30 days but never visited /pricing?

`--did` and `--not-did` look at event occurrences (within `--since`/`--until`, at least
`--at-least` times); `--visited` and `--not-visited` at page views (a case-insensitive
substring of the URL). Every filter must hold.

EOF
show "usercom users list --did 'Order Completed' --since 2026-10-02 --not-visited /pricing --columns user_id,email,country,page_views,last_seen"
cat <<'EOF'
### Events per week

`events stats` counts occurrences and distinct users per event name (the default), `day`,
`week` (named by its Monday; days are UTC), `month` or `user`:

EOF
show "usercom events stats --by week"
show "usercom events stats --by week --name 'Order Completed' --json"
cat <<'EOF'
### Which events happen most, and to how many people?

EOF
show "usercom events stats"
cat <<'EOF'
### Who are the best customers?

EOF
show "usercom events stats --by user --name 'Order Completed' --limit 5"
show "usercom users list --did 'Order Completed' --at-least 3 --columns user_id,email,name,companies"
cat <<'EOF'
### Who signed up but has not ordered yet?

EOF
show "usercom users list --did 'Signed Up' --not-did 'Order Completed' --columns user_id,email,signup_date,last_seen"
cat <<'EOF'
### Filter on profile fields and typed custom attributes

`--where FIELD OP VALUE` (repeatable) with `=`, `!=`, `>`, `>=`, `<`, `<=`, `~` (contains,
case-insensitive), `is null`, `is not null`. The value is read as the field's type:
numbers compare as numbers, booleans are `true`/`false`, dates and datetimes take ISO
dates or relative times (`signup_date>=30d`); on a datetime, a date alone means that whole
day. `!=` also matches users without a value. `--sort FIELD[:desc]` puts missing values
last.

EOF
show "usercom users list --where 'custom_integer>3000' --sort custom_integer:desc --columns user_id,email,custom_integer,plan,vip"
show "usercom users list --where 'vip=true' --where 'signup_date>=2025-01-01' --columns user_id,email,vip,signup_date"
show "usercom users list --where 'country=US' --where 'email~gmail' --columns user_id,email,country,city"
cat <<'EOF'
Engage audiences arrive as boolean traits, so audience membership is a filter too:

EOF
show "usercom users list --where 'order_completed_last_30days=true' --columns user_id,email,order_completed_last_30days"
cat <<'EOF'
### Who at a company was active lately?

EOF
show "usercom users list --in-company company-01 --seen-since 2026-10-25 --columns user_id,email,last_seen,companies"
show "usercom companies list --where 'members>=2' --sort members:desc"
cat <<'EOF'
### Which pages are viewed most?

`pages stats` buckets page views by `url` (the default), `path`, page `name`, `day`,
`week`, `month` or `user`; `--url` keeps pages whose URL contains a text.

EOF
show "usercom pages stats --by path --limit 5"
show "usercom pages stats --by week --url /pricing"
cat <<'EOF'
### Just the number

EOF
show "usercom users list --where 'email~gmail' --count"
show "usercom users list --did 'Order Completed' --since 2026-10-02 --count --json"
cat <<'EOF'
### Mistakes are errors, not empty answers

An unknown field, or a value that does not fit the field's type, exits with code 2 and
says what was wrong:

EOF
show "usercom users list --where 'custom_integer>lots'; echo \"exit \$?\""
show "usercom users list --where 'vip=maybe'; echo \"exit \$?\""
show "usercom users list --where 'custom_integr>100'; echo \"exit \$?\""
cat <<'EOF'
### Export

Every list prints as a table (the default), `--json` (an array), `--ndjson` (one object a
line, streamed: fine for millions of rows) or `--csv` (a header row; custom attributes as
`attributes.NAME` columns). A table shows the first 100 rows unless `--limit N` or
`--all` says otherwise, and says on stderr when more matched; `--json`, `--ndjson` and
`--csv` print every matching row unless `--limit` is given. `users list --columns` picks
the table's or CSV's columns. `users list --ndjson` holds every profile field and attribute, the same
objects as `users show --json`:

EOF
show "usercom users list --csv --columns user_id,email,custom_integer,vip,companies --where 'custom_integer is not null' --limit 3"
show "usercom users list --ndjson --limit 1"
show "usercom users list --count; usercom users list --ndjson | wc -l"
show "usercom users list --csv | wc -l"
show "usercom users list --csv | head -1 | tr , '\\n' | grep attributes"
