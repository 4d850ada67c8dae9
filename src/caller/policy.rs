//! The questions the row-level security policies ask about a statement's caller.
//!
//! Layer: caller (uses the caller, forward, identity, base). One-node policies ask once
//! per statement (InitPlans); a distributed table's policies ask for every row (Citus
//! refuses the subqueries that make them run once per statement), so the answers for a
//! forwarded caller are kept for the statement.

use std::cell::RefCell;

use pgrx::pg_sys;

use crate::base::backend::{self, Statement};
use crate::caller::forward;
use crate::caller::{self, Caller};
use crate::identity::{forwarded, token, Action, Reach};

/// 'all', 'own' or 'none': the rows of a learnings table the caller may `action`
/// ('read', 'write' or 'delete').
pub fn access(action: &str) -> &'static str {
    let Some(action) = Action::parse(action) else {
        return "none";
    };
    with_answers(|answers| answers.reach(action).name())
}

/// The user whose rows a scoped caller may act on; `None` for anyone else.
pub fn user() -> Option<String> {
    with_answers(|answers| answers.user.clone())
}

/// Whether the caller may `action` a row owned by `owner` (`None`: a shared row).
pub fn allows(action: &str, owner: Option<&str>) -> bool {
    let Some(action) = Action::parse(action) else {
        return false;
    };
    with_answers(|answers| match answers.reach(action) {
        Reach::All => true,
        Reach::Own => match owner {
            None => action == Action::Read,
            Some(owner) => answers.user.as_deref() == Some(owner),
        },
        Reach::None => false,
    })
}

/// What the policies ask about a statement's caller.
struct Answers {
    read: Reach,
    write: Reach,
    delete: Reach,
    user: Option<String>,
}

impl Answers {
    fn reach(&self, action: Action) -> Reach {
        match action {
            Action::Read => self.read,
            Action::Write => self.write,
            Action::Delete => self.delete,
        }
    }
}

/// Everything a forwarded caller's answers depend on, within one statement: all cheap to
/// read (the policies ask for every row of a distributed table).
#[derive(PartialEq, Eq)]
struct AnswersKey {
    statement: Statement,
    role: pg_sys::Oid,
    api_action: Option<Action>,
    token: u64,
    forwarded: u64,
}

impl AnswersKey {
    fn now() -> Self {
        AnswersKey {
            statement: Statement::current(),
            role: backend::current_role(),
            api_action: caller::local_api_action(),
            token: token::changes(),
            forwarded: forwarded::changes(),
        }
    }
}

thread_local! {
    /// The answers for a forwarded caller in the statement running now. Checking a
    /// forwarded decision costs more than reading a row. Only a forwarded caller's
    /// answers are kept: they depend on the decision alone, while other callers' depend on
    /// settings a statement may change (and their policies ask once per statement anyway).
    static ANSWERS: RefCell<Option<(AnswersKey, Answers)>> = const { RefCell::new(None) };
}

fn with_answers<T>(f: impl Fn(&Answers) -> T) -> T {
    let key = AnswersKey::now();
    let known = ANSWERS.with_borrow(|a| a.as_ref().filter(|(k, _)| *k == key).map(|(_, a)| f(a)));
    if let Some(answer) = known {
        return answer;
    }
    let (answers, is_forwarded) = answers();
    let answer = f(&answers);
    ANSWERS.with_borrow_mut(|a| *a = is_forwarded.then_some((key, answers)));
    answer
}

/// The answers, and whether they come from a forwarded decision.
fn answers() -> (Answers, bool) {
    let Ok(caller) = Caller::current() else {
        let answers = Answers {
            read: Reach::None,
            write: Reach::None,
            delete: Reach::None,
            user: None,
        };
        return (answers, false);
    };
    let answers = Answers {
        // An API write reads the rows it touches with the write's scope.
        read: caller.reach(forward::read_action()),
        write: caller.reach(Action::Write),
        delete: caller.reach(Action::Delete),
        user: caller.user_id(),
    };
    (answers, matches!(caller, Caller::Forwarded(_)))
}
