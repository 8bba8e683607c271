//! The application life cycle: every state and every allowed transition, in
//! one place. Who may move an application where is decided here; the store
//! performs the change together with its audit entry and timeline event.

use super::role::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Draft,
    Submitted,
    Returned,
    CityRejected,
    CityPassed,
    Recommended,
    NotRecommended,
    UnderReview,
    Shortlisted,
    Selected,
    NotSelected,
    /// The enterprise withdrew its application.
    Withdrawn,
}

impl State {
    pub const ALL: [State; 12] = [
        State::Draft,
        State::Submitted,
        State::Returned,
        State::CityRejected,
        State::CityPassed,
        State::Recommended,
        State::NotRecommended,
        State::UnderReview,
        State::Shortlisted,
        State::Selected,
        State::NotSelected,
        State::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Submitted => "submitted",
            State::Returned => "returned",
            State::CityRejected => "city_rejected",
            State::CityPassed => "city_passed",
            State::Recommended => "recommended",
            State::NotRecommended => "not_recommended",
            State::UnderReview => "under_review",
            State::Shortlisted => "shortlisted",
            State::Selected => "selected",
            State::NotSelected => "not_selected",
            State::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// As the enterprise and officials call it.
    pub fn label(self) -> &'static str {
        match self {
            State::Draft => "草稿",
            State::Submitted => "已提交，待市州审核",
            State::Returned => "已退回修改",
            State::CityRejected => "市州不予推荐",
            State::CityPassed => "形式审查通过",
            State::Recommended => "已推荐至省经信厅",
            State::NotRecommended => "未推荐",
            State::UnderReview => "专家评审中",
            State::Shortlisted => "公示中",
            State::Selected => "入选上云标杆企业",
            State::NotSelected => "未入选",
            State::Withdrawn => "已撤回",
        }
    }

    /// The enterprise may edit the content.
    pub fn editable(self) -> bool {
        matches!(self, State::Draft | State::Returned)
    }
}

/// Who moves an application from `from` to `to`; `None` when no one may.
pub fn actor_for(from: State, to: State) -> Option<Role> {
    use State::*;
    match (from, to) {
        (Draft | Returned, Submitted) => Some(Role::Enterprise),
        (Draft | Returned, Withdrawn) => Some(Role::Enterprise),
        (Submitted, Returned | CityRejected | CityPassed) => Some(Role::City),
        (CityPassed, Recommended | NotRecommended) => Some(Role::City),
        (Recommended | NotRecommended, CityPassed) => Some(Role::Province),
        (Recommended, UnderReview) => Some(Role::Province),
        (UnderReview, Shortlisted | NotSelected) => Some(Role::Province),
        (Shortlisted, Selected | NotSelected) => Some(Role::Province),
        _ => None,
    }
}

/// Whether `role` may move an application from `from` to `to`.
pub fn may(role: Role, from: State, to: State) -> bool {
    actor_for(from, to) == Some(role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enterprise_submits_city_decides() {
        assert!(may(Role::Enterprise, State::Draft, State::Submitted));
        assert!(may(Role::Enterprise, State::Returned, State::Submitted));
        assert!(!may(Role::City, State::Draft, State::Submitted));
        assert!(may(Role::City, State::Submitted, State::Returned));
        assert!(!may(Role::Enterprise, State::Submitted, State::CityPassed));
        assert!(!may(Role::Enterprise, State::Submitted, State::Draft));
    }

    #[test]
    fn codes_round_trip() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
    }
}
