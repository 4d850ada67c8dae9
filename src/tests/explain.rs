//! Plans on 100,000 generated rows: every filter and the default sort are served by an
//! index, never by a sequential scan and a sort. The statements are the ones the API
//! builds (`crate::table::query`), explained with the same parameters it passes.

#[pgrx::pg_schema]
mod tests {
    use crate::table::query::{self, Column, Direction, Filter, LearningOrder, Page, UserOrder};
    use crate::tests::support::*;
    use pgrx::datum::DatumWithOid;
    use pgrx::prelude::*;
    use serde_json::Value;

    const RELATION: &str = "public.agno_learnings";

    /// 100,000 rows: 1,000 users with ~65 rows each plus one `heavy` user with 5,000
    /// (30% of rows shared), 50 agents, 20 teams, 10,000 sessions, 5,000 entities of 10
    /// types, 5 learning types; a third never updated.
    fn generate() {
        run("INSERT INTO agno_learnings (learning_id, learning_type, namespace, user_id, agent_id, team_id, \
                 session_id, entity_id, entity_type, content, created_at, updated_at) \
             SELECT 'id' || g, (ARRAY['user_profile', 'user_memory', 'session_context', 'entity_memory', \
                                      'decision_log'])[1 + g % 5], \
                    CASE WHEN g % 5 = 3 THEN 'ns' || (g % 7) END, \
                    CASE WHEN g % 20 = 1 THEN 'heavy' WHEN g % 10 < 7 THEN 'user' || (g % 1000) END, \
                    'agent' || (g % 50), 'team' || (g % 20), 'session' || (g % 10000), \
                    'entity' || (g % 5000), 'type' || (g % 10), \
                    jsonb_build_object('n', g), 1700000000 + g, \
                    CASE WHEN g % 3 <> 0 THEN 1700000000 + g + (g % 1000) END \
               FROM generate_series(1, 100000) AS g");
        run("ANALYZE agno_learnings");
    }

    /// Every plan node, depth first.
    fn nodes(plan: &Value, out: &mut Vec<Value>) {
        out.push(plan.clone());
        for child in plan["Plans"].as_array().into_iter().flatten() {
            nodes(child, out);
        }
    }

    fn plan(sql: &str, args: &[DatumWithOid]) -> Value {
        let explained = Spi::connect(|client| {
            client
                .select(&format!("EXPLAIN (FORMAT JSON) {sql}"), None, args)
                .unwrap()
                .first()
                .get_one::<pgrx::Json>()
                .unwrap()
                .unwrap()
        });
        explained.0[0]["Plan"].clone()
    }

    fn node_types(nodes: &[Value]) -> Vec<&str> {
        nodes
            .iter()
            .map(|n| n["Node Type"].as_str().unwrap_or("?"))
            .collect()
    }

    /// The nodes below the page's LIMIT.
    fn page_nodes(plan: &Value) -> Vec<Value> {
        let mut all = Vec::new();
        nodes(plan, &mut all);
        let limit = all
            .iter()
            .find(|n| n["Node Type"] == "Limit")
            .unwrap_or_else(|| panic!("no Limit in {plan:#}"))
            .clone();
        let mut below = Vec::new();
        nodes(&limit, &mut below);
        below
    }

    /// How much of the page's order an index must provide.
    #[derive(Clone, Copy, PartialEq)]
    enum Order {
        /// All of it: no sort at all.
        Index,
        /// The leading key: at most an incremental sort of equal keys.
        Leading,
        /// None: a sort of the (index-selected) matching rows is fine.
        Any,
    }

    /// The page is read through an index (no sequential scan), with as much of its order
    /// from the index as `order` demands. Returns the indexes used.
    fn assert_indexed_page(plan: &Value, order: Order, what: &str) -> Vec<String> {
        let page = page_nodes(plan);
        let types = node_types(&page);
        assert!(
            !types.contains(&"Seq Scan"),
            "{what}: sequential scan in {plan:#}"
        );
        if order != Order::Any {
            assert!(!types.contains(&"Sort"), "{what}: sort in {plan:#}");
        }
        if order == Order::Index {
            assert!(
                !types.contains(&"Incremental Sort"),
                "{what}: sort in {plan:#}"
            );
        }
        let indexes: Vec<String> = page
            .iter()
            .filter_map(|n| n["Index Name"].as_str().map(str::to_string))
            .collect();
        assert!(!indexes.is_empty(), "{what}: no index in {plan:#}");
        indexes
    }

    /// The plan of a list page whose total is counted (`None`) or kept (`Some`).
    fn list_plan_with(
        filter: Filter,
        order: LearningOrder,
        page: i32,
        total: Option<i64>,
    ) -> Value {
        let statement = query::list(
            RELATION,
            &filter,
            order,
            Page::new(100, page).unwrap(),
            total,
        );
        plan(&statement.sql, &statement.args)
    }

    fn list_plan(filter: Filter, order: LearningOrder) -> Value {
        list_plan_with(filter, order, 1, None)
    }

    const RECENT: LearningOrder = LearningOrder::Recent(Direction::Desc);

    fn unscoped_kept() -> Value {
        list_plan_with(Filter::default(), RECENT, 1, Some(100_000))
    }

    #[pg_test]
    fn list_pages_use_indexes_on_100k_rows() {
        generate();

        let default_page = list_plan(Filter::default(), RECENT);
        assert_eq!(
            assert_indexed_page(&default_page, Order::Index, "default"),
            ["idx_agno_learnings_recent"]
        );
        let ascending = list_plan(Filter::default(), LearningOrder::Recent(Direction::Asc));
        assert_eq!(
            assert_indexed_page(&ascending, Order::Index, "asc"),
            ["idx_agno_learnings_recent"]
        );
        for order in [
            LearningOrder::Created(Direction::Desc),
            LearningOrder::Created(Direction::Asc),
        ] {
            assert_indexed_page(
                &list_plan(Filter::default(), order),
                Order::Leading,
                &format!("{order:?}"),
            );
        }

        // One user's rows, newest first: with many rows, the per-user index gives rows and
        // order; with few, an index finds them and sorting them is cheaper. Either way the
        // count uses an index too.
        for (user, order) in [("heavy", Order::Index), ("user7", Order::Any)] {
            let plan = list_plan(Filter::default().equal(Column::UserId, Some(user)), RECENT);
            let indexes = assert_indexed_page(&plan, order, user);
            if order == Order::Index {
                assert_eq!(indexes, ["idx_agno_learnings_user_recent"]);
            }
            let mut all = Vec::new();
            nodes(&plan, &mut all);
            assert!(
                !node_types(&all).contains(&"Seq Scan"),
                "{user} count: {plan:#}"
            );
        }

        for (column, value) in [
            (Column::LearningType, "user_profile"),
            (Column::AgentId, "agent3"),
            (Column::TeamId, "team4"),
            (Column::SessionId, "session42"),
            (Column::Namespace, "ns3"),
            (Column::EntityId, "entity17"),
            (Column::EntityType, "type5"),
        ] {
            let plan = list_plan(Filter::default().equal(column, Some(value)), RECENT);
            assert_indexed_page(&plan, Order::Any, &format!("{column:?}"));
        }
    }

    #[pg_test]
    fn single_row_and_user_statements_use_indexes_on_100k_rows() {
        generate();
        let by_id = Filter::default().equal(Column::LearningId, Some("id4242"));
        for statement in [
            query::get(RELATION, &by_id),
            query::delete(RELATION, &by_id),
        ] {
            let plan = plan(&statement.sql, &statement.args);
            let mut all = Vec::new();
            nodes(&plan, &mut all);
            assert!(
                all.iter().any(|n| n["Index Name"] == "agno_learnings_pkey"),
                "{}: {plan:#}",
                statement.sql
            );
        }
        let filter = Filter::default().equal(Column::UserId, Some("user7"));
        let statement = query::delete(RELATION, &filter);
        let delete_user = plan(&statement.sql, &statement.args);
        let mut all = Vec::new();
        nodes(&delete_user, &mut all);
        assert!(!node_types(&all).contains(&"Seq Scan"), "{delete_user:#}");

        let statement = query::list_users(
            RELATION,
            &filter,
            UserOrder::LastUpdated(Direction::Desc),
            Page::new(20, 1).unwrap(),
        );
        let users = plan(&statement.sql, &statement.args);
        let mut all = Vec::new();
        nodes(&users, &mut all);
        assert!(!node_types(&all).contains(&"Seq Scan"), "{users:#}");
    }

    /// A scoped caller's list (its rows and the shared ones, under row-level security)
    /// is read through the same index as an unscoped one, with the policy's helpers run
    /// once per statement (InitPlans), not per row.
    #[pg_test]
    fn scoped_list_uses_the_unscoped_plan_on_100k_rows() {
        generate();
        client_role("app");
        // Unscoped: the table's owner, and an admin subject to row-level security.
        let unscoped = list_plan(Filter::default(), RECENT);
        let unscoped_indexes = assert_indexed_page(&unscoped, Order::Index, "unscoped");
        let admin = as_role(
            "app",
            Some(r#"{"sub": "root", "scopes": "agent_os:admin"}"#),
            || list_plan(Filter::default(), RECENT),
        );
        assert_eq!(
            assert_indexed_page(&admin, Order::Index, "admin"),
            unscoped_indexes
        );
        // Scoped: its rows and the shared ones as two ranges of the per-user index, merged
        // in order (no pass over all shared rows), on every page.
        let claims = r#"{"sub": "heavy", "scopes": "learnings:read"}"#;
        let scoped = as_role("app", Some(claims), || {
            crate::base::db::in_index_order(|| {
                list_plan_with(Filter::default().visible_to("heavy"), RECENT, 1, Some(1))
            })
        });
        assert_eq!(
            // (The two ranges, each cut at the page's end, are sorted together: at most
            // twice a page's rows.)
            assert_indexed_page(&scoped, Order::Any, "scoped"),
            [
                "idx_agno_learnings_user_recent",
                "idx_agno_learnings_user_recent"
            ],
            "{scoped:#}"
        );
        let deep = as_role("app", Some(claims), || {
            crate::base::db::in_index_order(|| {
                list_plan_with(Filter::default().visible_to("heavy"), RECENT, 40, Some(1))
            })
        });
        assert_eq!(
            assert_indexed_page(&deep, Order::Any, "scoped page 40"),
            [
                "idx_agno_learnings_user_recent",
                "idx_agno_learnings_user_recent"
            ]
        );
        let mut all = Vec::new();
        nodes(&scoped, &mut all);
        let policy_calls: Vec<&Value> = all
            .iter()
            .filter(|n| {
                n["Subplan Name"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("InitPlan"))
            })
            .collect();
        assert!(
            !policy_calls.is_empty(),
            "policy helpers are not InitPlans: {scoped:#}"
        );
        assert!(
            !all.iter().any(|n| n["Subplan Name"]
                .as_str()
                .is_some_and(|s| s.starts_with("SubPlan"))),
            "a per-row SubPlan: {scoped:#}"
        );
        // With the total kept, the table is read for the page only; counted, twice.
        let table_scans = |plan: &Value| {
            let mut all = Vec::new();
            nodes(plan, &mut all);
            all.iter()
                .filter(|n| n["Relation Name"] == "agno_learnings")
                .count()
        };
        assert_eq!(table_scans(&unscoped_kept()), 1);
        assert_eq!(table_scans(&unscoped), 2);
        // And the page really is the caller's: its rows and shared rows only.
        let page = as_role("app", Some(claims), || json("SELECT learnings_list()"));
        assert!(page["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["user_id"].is_null() || r["user_id"] == "heavy"));
        assert_eq!(page["data"].as_array().unwrap().len(), 100);
    }
}
