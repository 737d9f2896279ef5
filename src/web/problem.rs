//! What a request gets back when it cannot be served: a status and the
//! same clear sentence the CLI would print, as JSON under `/api/` and as a
//! page elsewhere.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::state::{PeopleError, StateError};

/// A refused or failed request.
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    /// What went wrong and what to do, for a person.
    pub message: String,
}

impl Problem {
    /// A status with a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Problem {
            status,
            message: message.into(),
        }
    }

    /// 400: the request itself is wrong.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404: nothing of that name.
    pub fn missing(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 401: no valid session or token.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "log in first: POST /api/login, or send an API token as 'Authorization: Bearer TOKEN' (ferry tokens create)",
        )
    }

    /// 403: logged in, without the right.
    pub fn forbidden(user: &str, right: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            format!("{user} does not have the right '{right}'; an administrator can grant it with `ferry users grant {user} {right}`"),
        )
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A problem as the API answers it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct ProblemBody {
    /// The sentence the CLI would print: what went wrong and what to do.
    pub error: String,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        (self.status, Json(ProblemBody { error: self.message })).into_response()
    }
}

impl From<StateError> for Problem {
    fn from(e: StateError) -> Self {
        match e {
            StateError::NoRun(_) => Problem::missing(e.to_string()),
            StateError::Invalid(m) => Problem::bad(m),
            e => {
                tracing::error!(error = %e, "Console request failed in the state store.");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
        }
    }
}

impl From<PeopleError> for Problem {
    fn from(e: PeopleError) -> Self {
        match e {
            PeopleError::State(s) => s.into(),
            PeopleError::NoUser(_) | PeopleError::NoGroup(_) | PeopleError::NoNotification(..) => {
                Problem::missing(e.to_string())
            }
            PeopleError::UserExists(_) | PeopleError::GroupExists(_) | PeopleError::AlreadyMember { .. } => {
                Problem::new(StatusCode::CONFLICT, e.to_string())
            }
            e => Problem::bad(e.to_string()),
        }
    }
}
