//! The SQL statements of the API, assembled from this module's constants only.
//!
//! The relation name comes from the catalog (quoted there), column names and sort orders
//! from the enums below, and every caller value is a numbered parameter. Statements are
//! built per call so that each filter combination gets its own plan, with its own
//! index, instead of one generic `($1 IS NULL OR col = $1)` plan that no index serves.
//!
//! Layer: table (uses base).

use pgrx::datum::DatumWithOid;

use crate::base::errors::{ApiError, ApiResult};
use crate::base::jsonb::Jsonb;

/// A record as AgentOS's `LearningResponse` shows it. Column references are unqualified
/// so the same projection serves SELECT, RETURNING and aggregates over a subquery.
pub const RECORD: &str = "pg_catalog.jsonb_build_object(\
     'learning_id', learning_id, 'learning_type', learning_type, 'namespace', namespace, \
     'user_id', user_id, 'agent_id', agent_id, 'team_id', team_id, 'session_id', session_id, \
     'entity_id', entity_id, 'entity_type', entity_type, 'content', content, \
     'metadata', metadata, 'created_at', created_at, 'updated_at', updated_at)";

/// A record's columns, for lists: a page selects exactly these and is aggregated as
/// `json` rows, turned into jsonb once. A jsonb envelope of jsonb_build_object records
/// copied every record twice more (into the aggregate, then into the envelope): a third
/// of a 100-record page's time. Values are the same: jsonb prints its numbers and
/// strings exactly and reads them back so, and orders an object's keys itself.
const RECORD_COLUMNS: &str = "learning_id, learning_type, namespace, user_id, agent_id, team_id, \
     session_id, entity_id, entity_type, content, metadata, created_at, updated_at";

/// The time the API stamps on writes: epoch seconds, truncated as agno's `int(time.time())`.
pub const NOW_EPOCH: &str =
    "pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.statement_timestamp()))::bigint";

/// Columns a statement may be filtered on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    LearningId,
    LearningType,
    UserId,
    AgentId,
    TeamId,
    SessionId,
    Namespace,
    EntityId,
    EntityType,
}

impl Column {
    const fn name(self) -> &'static str {
        match self {
            Column::LearningId => "learning_id",
            Column::LearningType => "learning_type",
            Column::UserId => "user_id",
            Column::AgentId => "agent_id",
            Column::TeamId => "team_id",
            Column::SessionId => "session_id",
            Column::Namespace => "namespace",
            Column::EntityId => "entity_id",
            Column::EntityType => "entity_type",
        }
    }
}

#[derive(Clone, Debug)]
enum Predicate<'a> {
    /// `column = value`
    Equal(Column, &'a str),
    /// `(user_id = value OR user_id IS NULL)`: a user's rows and the shared ones.
    VisibleTo(&'a str),
    /// `user_id IS NOT NULL`
    Owned,
}

/// A conjunction of predicates; values become parameters.
#[derive(Clone, Debug, Default)]
pub struct Filter<'a> {
    predicates: Vec<Predicate<'a>>,
}

impl<'a> Filter<'a> {
    /// Adds `column = value` when a value is given; no value means no condition.
    pub fn equal(mut self, column: Column, value: Option<&'a str>) -> Self {
        if let Some(value) = value {
            self.predicates.push(Predicate::Equal(column, value));
        }
        self
    }

    /// Keeps the rows `user_id` may read: its own and those with no owner.
    pub fn visible_to(mut self, user_id: &'a str) -> Self {
        self.predicates.push(Predicate::VisibleTo(user_id));
        self
    }

    /// Keeps only rows with an owner.
    pub fn owned_only(mut self) -> Self {
        self.predicates.push(Predicate::Owned);
        self
    }

    /// The WHERE clause, numbering its parameters from `$first`.
    fn sql(&self, first: usize) -> String {
        self.sql_for(first, Visible::Both)
    }

    /// Whether the filter has `column = value`.
    fn has(&self, column: Column) -> bool {
        self.predicates
            .iter()
            .any(|p| matches!(p, Predicate::Equal(c, _) if *c == column))
    }

    /// Whether the filter keeps a user's rows and the shared ones.
    fn is_visible_to_a_user(&self) -> bool {
        self.predicates
            .iter()
            .any(|p| matches!(p, Predicate::VisibleTo(_)))
    }

    /// The WHERE clause for one side of a `visible_to` filter (the other predicates
    /// unchanged, parameters numbered the same, so both sides share one argument list).
    fn sql_for(&self, first: usize, visible: Visible) -> String {
        let mut next = first;
        let mut param = || {
            next += 1;
            next - 1
        };
        let conditions: Vec<String> = self
            .predicates
            .iter()
            .map(|p| match (p, visible) {
                (Predicate::Equal(column, _), _) => format!("{} = ${}", column.name(), param()),
                (Predicate::VisibleTo(_), Visible::Both) => {
                    format!("(user_id = ${} OR user_id IS NULL)", param())
                }
                (Predicate::VisibleTo(_), Visible::Own) => format!("user_id = ${}", param()),
                // The parameter is still numbered (and typed by the other side).
                (Predicate::VisibleTo(_), Visible::Shared) => {
                    param();
                    "user_id IS NULL".to_string()
                }
                (Predicate::Owned, _) => "user_id IS NOT NULL".to_string(),
            })
            .collect();
        if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        }
    }

    fn param_count(&self) -> usize {
        self.predicates
            .iter()
            .filter(|p| !matches!(p, Predicate::Owned))
            .count()
    }

    fn args(&self) -> impl Iterator<Item = DatumWithOid<'a>> + '_ {
        self.predicates.iter().filter_map(|p| match p {
            Predicate::Equal(_, value) | Predicate::VisibleTo(value) => {
                Some(DatumWithOid::from(*value))
            }
            Predicate::Owned => None,
        })
    }
}

/// Which rows of a `visible_to` filter a statement reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Visible {
    Both,
    Own,
    Shared,
}

/// Sort direction, as `sort_order` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

impl Direction {
    /// `asc` or `desc`, exactly; NULL means the default, `desc`.
    pub fn parse(sort_order: Option<&str>) -> ApiResult<Self> {
        match sort_order {
            None | Some("desc") => Ok(Direction::Desc),
            Some("asc") => Ok(Direction::Asc),
            Some(other) => Err(ApiError::unprocessable(format!(
                "sort_order must be 'asc' or 'desc', not '{}'",
                crate::base::errors::shorten(other)
            ))),
        }
    }
}

/// Order of `learnings_list`. Ties are broken by `learning_id`, in the opposite
/// direction for `asc`, so that each order is the exact reverse of the other and both
/// are served by one index scanned forwards or backwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LearningOrder {
    /// `COALESCE(updated_at, created_at)`: the default.
    Recent(Direction),
    /// `created_at`, when `sort_by = 'created_at'`.
    Created(Direction),
}

impl LearningOrder {
    /// `created_at` sorts by creation; any other `sort_by` is ignored, never interpolated.
    pub fn parse(sort_by: Option<&str>, sort_order: Option<&str>) -> ApiResult<Self> {
        let direction = Direction::parse(sort_order)?;
        Ok(match sort_by {
            Some("created_at") => LearningOrder::Created(direction),
            _ => LearningOrder::Recent(direction),
        })
    }

    const fn sql(self) -> &'static str {
        match self {
            LearningOrder::Recent(Direction::Desc) => {
                "COALESCE(updated_at, created_at) DESC, learning_id"
            }
            LearningOrder::Recent(Direction::Asc) => {
                "COALESCE(updated_at, created_at), learning_id DESC"
            }
            LearningOrder::Created(Direction::Desc) => "created_at DESC, learning_id",
            LearningOrder::Created(Direction::Asc) => "created_at, learning_id DESC",
        }
    }
}

impl LearningOrder {
    /// The same order within one owner's rows, led by `user_id` so that it is exactly the
    /// `(user_id, recency, learning_id)` index's, forwards or backwards: the planner then
    /// reads the first rows of the range in order instead of sorting all of them (it
    /// cannot tell how many there are: user_id keeps no statistics).
    /// With one `learning_type`, led by both: the `(user_id, learning_type, recency,
    /// learning_id)` index's order.
    fn within_one_owner(self, one_type: bool) -> String {
        let leading = match (self, one_type) {
            (LearningOrder::Recent(Direction::Desc), false) => "user_id, ",
            (LearningOrder::Recent(Direction::Desc), true) => "user_id, learning_type, ",
            (LearningOrder::Recent(Direction::Asc), false) => "user_id DESC, ",
            (LearningOrder::Recent(Direction::Asc), true) => "user_id DESC, learning_type DESC, ",
            (LearningOrder::Created(_), _) => "",
        };
        format!("{leading}{}", self.sql())
    }
}

/// Order of `learnings_list_users`: by last activity (default) or by user id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserOrder {
    LastUpdated(Direction),
    UserId(Direction),
}

impl UserOrder {
    pub fn parse(sort_by: Option<&str>, sort_order: Option<&str>) -> ApiResult<Self> {
        let direction = Direction::parse(sort_order)?;
        Ok(match sort_by {
            Some("user_id") => UserOrder::UserId(direction),
            _ => UserOrder::LastUpdated(direction),
        })
    }

    const fn sql(self) -> &'static str {
        match self {
            UserOrder::LastUpdated(Direction::Desc) => "last_learning_updated_at DESC, user_id",
            UserOrder::LastUpdated(Direction::Asc) => "last_learning_updated_at, user_id DESC",
            UserOrder::UserId(Direction::Desc) => "user_id DESC",
            UserOrder::UserId(Direction::Asc) => "user_id",
        }
    }
}

/// A validated page request: `limit` 1–1000, `page` ≥ 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    limit: i32,
    page: i32,
}

impl Page {
    pub const MAX_LIMIT: i32 = 1000;

    pub fn new(limit: i32, page: i32) -> ApiResult<Self> {
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(ApiError::unprocessable(format!(
                "limit must be between 1 and {}, not {limit}",
                Self::MAX_LIMIT
            )));
        }
        if page < 1 {
            return Err(ApiError::unprocessable(format!(
                "page must be 1 or more, not {page}"
            )));
        }
        Ok(Page { limit, page })
    }

    /// `$1` limit, `$2` offset, `$3` page, as [`envelope`] expects them.
    fn args(self) -> [DatumWithOid<'static>; 3] {
        let offset = (i64::from(self.page) - 1) * i64::from(self.limit);
        [
            i64::from(self.limit).into(),
            offset.into(),
            self.page.into(),
        ]
    }
}

/// A statement and its parameters.
pub struct Statement<'a> {
    pub sql: String,
    pub args: Vec<DatumWithOid<'a>>,
}

/// One page of `rows` (a SELECT without ORDER BY) wrapped in AgentOS's envelope, with
/// the total counted by `count` (a SELECT of one bigint), in a single statement so the
/// page and the count see the same snapshot. The aggregate takes the page's rows in the
/// order its subquery's ORDER BY … LIMIT produced them (a plain aggregate over a sorted
/// subquery keeps its order in PostgreSQL, as PostgREST's own responses rely on; the
/// list tests check the order of every page), rather than sorting them a second time.
fn envelope(rows: &str, item: &str, order: &str, count: &str) -> String {
    format!(
        "SELECT pg_catalog.json_build_object(\
           'data', COALESCE((SELECT pg_catalog.json_agg({item}) \
                             FROM ({rows} ORDER BY {order} LIMIT $1 OFFSET $2) AS page), '[]'::json), \
           'meta', pg_catalog.json_build_object('page', $3, 'limit', $1, \
                   'total_pages', (counted.total + $1 - 1) / $1, 'total_count', counted.total))::pg_catalog.jsonb \
         FROM ({count}) AS counted(total)"
    )
}

/// `learnings_list`: a page of records matching `filter`, with `total` rows in all when
/// it is known (learnings_counts), else counted.
///
/// A user's rows and the shared ones are read as two ranges of the
/// `(user_id, [learning_type,] recency, learning_id)` indexes, each cut at the page's end
/// and merged in order, so that a page costs its offset and size, never a pass over all
/// shared rows.
pub fn list<'a>(
    relation: &str,
    filter: &Filter<'a>,
    order: LearningOrder,
    page: Page,
    total: Option<i64>,
) -> Statement<'a> {
    let first = 4;
    let rows = if filter.is_visible_to_a_user() {
        let side = |visible| {
            format!(
                "(SELECT * FROM {relation} {} ORDER BY {} LIMIT $1 + $2)",
                filter.sql_for(first, visible),
                order.within_one_owner(filter.has(Column::LearningType))
            )
        };
        format!(
            "SELECT {RECORD_COLUMNS} FROM ({} UNION ALL {}) AS visible",
            side(Visible::Own),
            side(Visible::Shared)
        )
    } else {
        format!(
            "SELECT {RECORD_COLUMNS} FROM {relation} {}",
            filter.sql(first)
        )
    };
    let count = match total {
        Some(_) => format!("SELECT ${}::bigint", first + filter.param_count()),
        None => format!(
            "SELECT pg_catalog.count(*) FROM {relation} {}",
            filter.sql(first)
        ),
    };
    Statement {
        sql: envelope(&rows, "page", order.sql(), &count),
        args: page
            .args()
            .into_iter()
            .chain(filter.args())
            .chain(total.map(DatumWithOid::from))
            .collect(),
    }
}

/// A list's total from learnings_counts: the sum of the deltas of `buckets` (one of
/// `learning_type` when given) for the relation `relid`. `$1` relid, `$2` buckets,
/// `$3` learning_type.
pub fn counted_total(totals: &str, learning_type: bool) -> String {
    format!(
        "SELECT COALESCE(pg_catalog.sum(n), 0)::pg_catalog.text FROM {totals} \
          WHERE relid OPERATOR(pg_catalog.=) $1 AND bucket OPERATOR(pg_catalog.=) ANY ($2){}",
        if learning_type {
            " AND learning_type OPERATOR(pg_catalog.=) $3"
        } else {
            ""
        }
    )
}

/// `learnings_list_users`: a page of owners with their last activity.
pub fn list_users<'a>(
    relation: &str,
    filter: &Filter<'a>,
    order: UserOrder,
    page: Page,
) -> Statement<'a> {
    let condition = filter.clone().owned_only().sql(4);
    let sql = envelope(
        &format!(
            "SELECT user_id, pg_catalog.max(COALESCE(updated_at, created_at)) AS last_learning_updated_at \
             FROM {relation} {condition} GROUP BY user_id"
        ),
        "pg_catalog.json_build_object('user_id', user_id, 'last_learning_updated_at', last_learning_updated_at)",
        order.sql(),
        &format!("SELECT pg_catalog.count(DISTINCT user_id) FROM {relation} {condition}"),
    );
    Statement {
        sql,
        args: page.args().into_iter().chain(filter.args()).collect(),
    }
}

/// `learnings_get`: the record matching `filter`.
pub fn get<'a>(relation: &str, filter: &Filter<'a>) -> Statement<'a> {
    Statement {
        sql: format!("SELECT {RECORD} FROM {relation} {}", filter.sql(1)),
        args: filter.args().collect(),
    }
}

/// Whether a row matches `filter`, and its owner: one row `('found', user_id)` or none.
pub fn owner<'a>(relation: &str, filter: &Filter<'a>) -> Statement<'a> {
    Statement {
        sql: format!(
            "SELECT 'found'::text, user_id::text FROM {relation} {}",
            filter.sql(1)
        ),
        args: filter.args().collect(),
    }
}

/// `learnings_create`: inserts unless the id exists, atomically (the primary key is the
/// arbiter, so two concurrent creates of one id give one row and one empty result).
/// Writes return plain columns, made into the record outside the write: Citus allows only
/// immutable functions in a distributed write's RETURNING (jsonb_build_object is stable).
/// `$1` id (NULL: a new UUID), `$2`–`$9` the identity columns, `$10` content, `$11` metadata
/// (JSON null is stored as SQL NULL; both read back as null).
pub fn insert(relation: &str) -> String {
    format!(
        "WITH written AS (INSERT INTO {relation} (learning_id, learning_type, namespace, user_id, agent_id, team_id, \
             session_id, entity_id, entity_type, content, metadata, created_at, updated_at) \
         VALUES (COALESCE($1, pg_catalog.gen_random_uuid()::text), $2, $3, $4, $5, $6, $7, $8, $9, $10, NULLIF($11, 'null'::jsonb), \
                 {NOW_EPOCH}, {NOW_EPOCH}) \
         ON CONFLICT (learning_id) DO NOTHING \
         RETURNING {RECORD_COLUMNS}) \
         SELECT {RECORD} FROM written"
    )
}

/// `learnings_update`: replaces the keys present in `changes` (`content`, `metadata`)
/// of the row matching `filter`; never inserts. A JSON null metadata is stored as SQL
/// NULL, as agno reads both.
pub fn update<'a>(relation: &str, filter: &Filter<'a>, changes: Jsonb) -> Statement<'a> {
    let sql = format!(
        "WITH written AS (UPDATE {relation} SET \
             content = CASE WHEN $1 ? 'content' THEN $1 -> 'content' ELSE content END, \
             metadata = CASE WHEN $1 ? 'metadata' THEN NULLIF($1 -> 'metadata', 'null'::jsonb) ELSE metadata END, \
             updated_at = {NOW_EPOCH} \
         {} \
         RETURNING {RECORD_COLUMNS}) \
         SELECT {RECORD} FROM written",
        filter.sql(2)
    );
    Statement {
        sql,
        args: std::iter::once(changes.into())
            .chain(filter.args())
            .collect(),
    }
}

/// `learnings_delete` and `learnings_delete_user`: the rows matching `filter`.
pub fn delete<'a>(relation: &str, filter: &Filter<'a>) -> Statement<'a> {
    Statement {
        sql: format!("DELETE FROM {relation} {}", filter.sql(1)),
        args: filter.args().collect(),
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn filters_become_numbered_parameters() {
        let filter = Filter::default()
            .equal(Column::UserId, Some("alice'; DROP TABLE x; --"))
            .equal(Column::AgentId, None)
            .equal(Column::LearningType, Some("user_profile"));
        assert_eq!(filter.sql(4), "WHERE user_id = $4 AND learning_type = $5");
        assert_eq!(Filter::default().sql(1), "");
        assert_eq!(
            Filter::default().owned_only().sql(1),
            "WHERE user_id IS NOT NULL"
        );
    }

    #[test]
    fn sort_by_is_never_interpolated() {
        let order = LearningOrder::parse(Some("learning_id; DROP TABLE x"), None).unwrap();
        assert_eq!(order, LearningOrder::Recent(Direction::Desc));
        assert_eq!(
            LearningOrder::parse(Some("created_at"), Some("asc")).unwrap(),
            LearningOrder::Created(Direction::Asc)
        );
        assert_eq!(
            UserOrder::parse(Some("user_id"), None).unwrap(),
            UserOrder::UserId(Direction::Desc)
        );
        assert_eq!(
            UserOrder::parse(Some("anything"), Some("asc")).unwrap(),
            UserOrder::LastUpdated(Direction::Asc)
        );
    }

    #[test]
    fn sort_order_is_asc_or_desc() {
        for bad in ["sideways", "ASC", "", "desc "] {
            assert_eq!(
                Direction::parse(Some(bad)).unwrap_err().state.code(),
                "PT422",
                "{bad}"
            );
        }
        assert_eq!(Direction::parse(None).unwrap(), Direction::Desc);
    }

    #[test]
    fn page_bounds() {
        for (limit, page) in [(0, 1), (1001, 1), (-1, 1), (10, 0), (10, -5)] {
            assert_eq!(
                Page::new(limit, page).unwrap_err().state.code(),
                "PT422",
                "{limit} {page}"
            );
        }
        assert!(Page::new(1, 1).is_ok());
        assert!(Page::new(1000, i32::MAX).is_ok());
    }
}
