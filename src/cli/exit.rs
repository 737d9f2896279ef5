//! Exit codes, decided from the library's error types at the binary edge so
//! a monitoring wrapper can tell "fix the input" from "the network or the
//! state store is down" from "the run failed" without reading the message.

use crate::deliver::{DeliveryError, OpError};
use crate::source::SourceError;
use crate::state::StateError;

/// A run failed or its files were held (also: a check that found problems).
pub const EXIT_RUN_FAILED: i32 = 1;
/// Bad input: the configuration, a script or the arguments.
pub const EXIT_BAD_INPUT: i32 = 2;
/// A server or the state store could not be reached.
pub const EXIT_UNREACHABLE: i32 = 3;

/// The exit code for `error`: the first error in its chain that ferry knows
/// decides; anything else is bad input, the cause of most refusals before
/// anything runs.
pub(super) fn code(error: &anyhow::Error) -> i32 {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<StateError>() {
            return match e {
                StateError::Open { .. } | StateError::Query(_) => EXIT_UNREACHABLE,
                StateError::NoRun(_) | StateError::Invalid(_) => EXIT_BAD_INPUT,
            };
        }
        if let Some(e) = cause.downcast_ref::<SourceError>() {
            return match e {
                SourceError::Connect { .. } => EXIT_UNREACHABLE,
                _ => EXIT_BAD_INPUT,
            };
        }
        if let Some(e) = cause.downcast_ref::<DeliveryError>() {
            return unreachable_or_failed(e.kind);
        }
        if let Some(e) = cause.downcast_ref::<OpError>() {
            return unreachable_or_failed(e.kind);
        }
        if cause.downcast_ref::<sqlx::Error>().is_some_and(connection_failed) {
            return EXIT_UNREACHABLE;
        }
    }
    EXIT_BAD_INPUT
}

/// A delivery that met the network (refused, timed out, busy) could not
/// reach its server; one the server refused is a failure.
pub(super) fn unreachable_or_failed(kind: crate::deliver::FailureKind) -> i32 {
    if kind.retryable() {
        EXIT_UNREACHABLE
    } else {
        EXIT_RUN_FAILED
    }
}

fn connection_failed(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_known_error_in_the_chain_decides() {
        let state = anyhow::Error::new(StateError::Open {
            path: "x".into(),
            message: "refused".into(),
        })
        .context("listing");
        assert_eq!(code(&state), EXIT_UNREACHABLE);
        assert_eq!(code(&anyhow::Error::new(StateError::NoRun(4))), EXIT_BAD_INPUT);
        let refused = OpError::new(crate::deliver::FailureKind::Auth, "login refused");
        assert_eq!(code(&anyhow::Error::new(refused)), EXIT_RUN_FAILED);
        let down = OpError::new(crate::deliver::FailureKind::Network, "connection refused");
        assert_eq!(code(&anyhow::Error::new(down)), EXIT_UNREACHABLE);
        assert_eq!(code(&anyhow::anyhow!("unknown script")), EXIT_BAD_INPUT);
    }
}
