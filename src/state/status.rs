//! The ledger's words: what a run, a delivery and a schedule occurrence can
//! be, and which changes between them are allowed. Text only at the SQL
//! boundary, so an unknown word in the store is found when it is read.

use std::fmt;

macro_rules! words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in the order of the state machine.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stored word.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value a stored word names, if it names one.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // `pad`, so `{:5}` lines up a column as it did for the text.
                f.pad(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::parse(s).ok_or_else(|| {
                    let known: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    format!("'{s}' is not one of {}", known.join(", "))
                })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        /// The API describes the type as its closed set of words.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some($name::ALL.iter().map(|v| v.as_str())))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

/// The other modules' words (rights, log levels, script changes) share the
/// conversions, so every stored word is read back the same way.
pub(super) use words;

words! {
    /// Where a run is in its life. `running` is the only state a run is
    /// created in (besides the final `skipped` and `missed`, recorded for
    /// occurrences that did not run); every other state is final except
    /// `held`, which a person settles.
    RunStatus {
        /// Started; its instance is working on it.
        Running = "running",
        /// Did everything the script asked.
        Succeeded = "succeeded",
        /// Stopped by an error.
        Failed = "failed",
        /// Its instance was stopped or killed before it ended.
        Interrupted = "interrupted",
        /// A guard held its deliveries for a person to look at.
        Held = "held",
        /// Held, then sent by `ferry release`.
        Released = "released",
        /// Held, then dropped by `ferry discard`.
        Discarded = "discarded",
        /// Held, then made stale by a newer run of the script.
        Superseded = "superseded",
        /// Its occurrence came while the previous run was still going.
        Skipped = "skipped",
        /// Its occurrence passed while no instance ran it.
        Missed = "missed",
    }
}

impl RunStatus {
    /// Whether the state machine allows `self` → `next`.
    pub fn can_become(self, next: RunStatus) -> bool {
        use RunStatus::*;
        matches!(
            (self, next),
            (Running, Succeeded | Failed | Interrupted | Held) | (Held, Released | Discarded | Superseded)
        )
    }
}

words! {
    /// Where one file's delivery to one destination is. Recorded `sending`
    /// before the first byte moves and `committing` once the whole file is
    /// on the server, so recovery after a crash knows what to look for.
    DeliveryState {
        /// Bytes are moving under the temporary name.
        Sending = "sending",
        /// The whole file is on the server; the rename or marker is next.
        Committing = "committing",
        /// Committed and recorded by the run that sent it.
        Delivered = "delivered",
        /// Found complete under its final name by recovery after a crash.
        Recovered = "recovered",
        /// Every attempt failed; the file is kept locally.
        Failed = "failed",
        /// Found incomplete by recovery; its temporary was removed and the
        /// destination holds what it held before.
        Abandoned = "abandoned",
        /// Recovery could not look (the destination is no longer configured).
        Unknown = "unknown",
        /// Not sent: a guard held it.
        Held = "held",
        /// Not sent: a test extract only says where it would go.
        Planned = "planned",
    }
}

impl Default for DeliveryState {
    /// A delivery nothing has happened to yet is only planned.
    fn default() -> Self {
        DeliveryState::Planned
    }
}

impl DeliveryState {
    /// States a crash can leave a delivery in: recovery settles them.
    pub const OPEN: &'static [DeliveryState] = &[DeliveryState::Sending, DeliveryState::Committing];

    /// Whether the vendor has the file.
    pub fn arrived(self) -> bool {
        matches!(self, DeliveryState::Delivered | DeliveryState::Recovered)
    }
}

words! {
    /// What became of a schedule occurrence. An occurrence row is written
    /// in the same transaction as its run (or its reason), so none is lost.
    OccurrenceOutcome {
        /// Claimed, its run is going.
        Running = "running",
        /// Its run ended (the run's status says how).
        Ran = "ran",
        /// The previous run was still going.
        Skipped = "skipped",
        /// Not run; `reason` says why.
        Missed = "missed",
        /// Its run was interrupted; recovery decides whether it runs again.
        Interrupted = "interrupted",
        /// Written by versions before the ledger; read as `running`.
        Claimed = "claimed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_unknown_words_are_named() {
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::parse(s.as_str()), Some(*s));
        }
        for s in DeliveryState::ALL {
            assert_eq!(s.as_str().parse::<DeliveryState>().unwrap(), *s);
        }
        let e = "finished".parse::<RunStatus>().unwrap_err();
        assert!(e.contains("'finished'") && e.contains("succeeded"), "{e}");
    }

    #[test]
    fn only_running_and_held_runs_change() {
        use RunStatus::*;
        assert!(Running.can_become(Succeeded) && Running.can_become(Interrupted));
        assert!(Held.can_become(Released) && Held.can_become(Superseded));
        for s in RunStatus::ALL {
            assert!(!Succeeded.can_become(*s) && !Interrupted.can_become(*s) && !Missed.can_become(*s));
        }
        assert!(!Running.can_become(Released));
    }
}
