//! The console's second factor for local passwords: RFC 6238 time-based
//! codes (the `totp-rs` crate computes them), recovery codes, and the
//! pending logins that sit between the password and the code.
//!
//! The secret stays in this module: it leaves only once, as the
//! [`Enrolment`] shown while a person sets up their app, and its `Debug`
//! hides it. A code is accepted once: the time step of the last accepted
//! code is stored and a code of that step or earlier is refused. Recovery
//! codes and pending-login tokens are stored hashed, like passwords and
//! session tokens.

use argon2::password_hash::rand_core::OsRng as SaltRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sqlx::Row;
use totp_rs::{Algorithm, Secret, TOTP};

use super::{stamp, time, StateError, Store};

/// The length of a time step, RFC 6238's default and every app's.
const STEP_SECS: u64 = 30;
/// Digits per code.
const DIGITS: usize = 6;
/// Steps either side of now a code may be from: phones' clocks drift.
const SKEW_STEPS: u64 = 1;
/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// The issuer the person's app shows beside the account.
const ISSUER: &str = "ferry";
/// Letters of recovery codes: no 0/o or 1/l to misread on paper.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A set-up in progress: what the person's app must be given, by QR code
/// or typed. Its `Debug` hides both, since both carry the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// The secret in base32, for typing into an app.
    pub secret: String,
    /// The `otpauth://` URL the QR code holds.
    pub url: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(hidden)")
    }
}

/// What a code given at login turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactorCheck {
    /// A current code from the app, not used before.
    Code,
    /// A recovery code, now used up; how many are left.
    Recovery {
        /// Unused recovery codes after this one.
        left: usize,
    },
    /// A right code that was already accepted once.
    Reused,
    /// Neither a current code nor an unused recovery code.
    Wrong,
}

impl FactorCheck {
    /// Whether the login may go on.
    pub fn passed(self) -> bool {
        matches!(self, FactorCheck::Code | FactorCheck::Recovery { .. })
    }
}

/// The second factor as the account page shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactorState {
    /// Nothing set up.
    Off,
    /// Set up begun, no code confirmed yet: not asked for at login.
    Enrolling,
    /// Asked for at every password login.
    On {
        /// When the first code confirmed it.
        since: DateTime<Utc>,
        /// Unused recovery codes.
        recovery_left: usize,
    },
}

/// The authenticator for `secret`: what the app computes, with the issuer
/// and account its `otpauth://` URL names.
fn authenticator(user: &str, secret: &str) -> Result<TOTP, StateError> {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().map_err(|e| {
        StateError::Invalid(format!(
            "the stored second factor of {user} is unreadable ({e:?}); reset it with `ferry users totp-reset {user}`"
        ))
    })?;
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        SKEW_STEPS as u8,
        STEP_SECS,
        bytes,
        Some(ISSUER.to_string()),
        user.to_string(),
    )
    .map_err(|e| StateError::Invalid(format!("cannot make a second factor for '{user}': {e}")))
}

/// The time step `code` belongs to, within the allowed skew of `now`.
fn matching_step(totp: &TOTP, code: &str, now: u64) -> Option<u64> {
    let current = now / STEP_SECS;
    (current.saturating_sub(SKEW_STEPS)..=current + SKEW_STEPS)
        .find(|step| constant_eq(totp.generate(step * STEP_SECS).as_bytes(), code.as_bytes()))
}

/// Compares without stopping at the first difference.
fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A code as typed: spaces and dashes dropped, letters lowered.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Ten random letters from [`RECOVERY_ALPHABET`], shown as `abcde-fghjk`.
fn recovery_code() -> String {
    let mut bytes = [0u8; 10];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let letters: String = bytes
        .iter()
        .map(|b| RECOVERY_ALPHABET[*b as usize % RECOVERY_ALPHABET.len()] as char)
        .collect();
    format!("{}-{}", &letters[..5], &letters[5..])
}

fn unix_now() -> u64 {
    Utc::now().timestamp().max(0) as u64
}

impl Store {
    /// Begins setting up a second factor for `user`: a new secret, not yet
    /// asked for at login. Refused while one is on: an administrator resets
    /// a lost one with `ferry users totp-reset`.
    pub async fn totp_begin(&self, user: &str) -> Result<Enrolment, StateError> {
        if !self.user_exists(user).await? {
            return Err(StateError::Invalid(format!(
                "there is no user '{user}'; `ferry users list` shows the users"
            )));
        }
        if matches!(self.totp_state(user).await?, FactorState::On { .. }) {
            return Err(StateError::Invalid(format!(
                "{user} already has a second factor; an administrator removes a lost one with `ferry users totp-reset {user}`"
            )));
        }
        let mut raw = [0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let secret = Secret::Raw(raw.to_vec()).to_encoded().to_string();
        let enrolment = Enrolment {
            url: authenticator(user, &secret)?.get_url(),
            secret: secret.clone(),
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM user_totp WHERE user_name = $1")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO user_totp (user_name, secret, created_at) VALUES ($1, $2, $3)")
            .bind(user)
            .bind(&secret)
            .bind(stamp(Utc::now()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(enrolment)
    }

    /// The set-up in progress, to show its QR code again.
    pub async fn totp_enrolling(&self, user: &str) -> Result<Option<Enrolment>, StateError> {
        let row = sqlx::query("SELECT secret FROM user_totp WHERE user_name = $1 AND confirmed_at IS NULL")
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let secret: String = row.try_get(0)?;
        Ok(Some(Enrolment {
            url: authenticator(user, &secret)?.get_url(),
            secret,
        }))
    }

    /// Whether `user` has a second factor, and since when.
    pub async fn totp_state(&self, user: &str) -> Result<FactorState, StateError> {
        let row = sqlx::query("SELECT confirmed_at FROM user_totp WHERE user_name = $1")
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(FactorState::Off) };
        let Some(since) = time(row.try_get(0)?) else {
            return Ok(FactorState::Enrolling);
        };
        let left: i64 = sqlx::query("SELECT COUNT(*) FROM totp_recovery WHERE user_name = $1 AND used_at IS NULL")
            .bind(user)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(FactorState::On {
            since,
            recovery_left: left.max(0) as usize,
        })
    }

    /// Whether a password login of `user` must be followed by a code.
    pub async fn totp_on(&self, user: &str) -> Result<bool, StateError> {
        Ok(matches!(self.totp_state(user).await?, FactorState::On { .. }))
    }

    /// Ends a set-up with the first code from the app: the factor is on
    /// from now, and the recovery codes (returned in clear this once, stored
    /// hashed) replace any earlier ones. `None` when the code is wrong.
    pub async fn totp_confirm(&self, user: &str, code: &str) -> Result<Option<Vec<String>>, StateError> {
        let Some(enrolment) = self.totp_enrolling(user).await? else {
            return Err(StateError::Invalid(format!(
                "{user} has no second factor being set up; start again from the account page"
            )));
        };
        let totp = authenticator(user, &enrolment.secret)?;
        let Some(step) = matching_step(&totp, &normalise(code), unix_now()) else {
            return Ok(None);
        };
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
        let hashes = hash_all(codes.iter().map(|c| normalise(c)).collect()).await?;
        let now = stamp(Utc::now());
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE user_totp SET confirmed_at = $1, last_step = $2 WHERE user_name = $3 AND confirmed_at IS NULL AND secret = $4",
        )
        .bind(&now)
        .bind(step as i64)
        .bind(user)
        .bind(&enrolment.secret)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StateError::Invalid(format!(
                "the set-up of {user}'s second factor changed meanwhile; start again from the account page"
            )));
        }
        sqlx::query("DELETE FROM totp_recovery WHERE user_name = $1")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        for hash in hashes {
            sqlx::query("INSERT INTO totp_recovery (user_name, code_hash) VALUES ($1, $2)")
                .bind(user)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(codes))
    }

    /// Checks a code given at login: a current code from the app that was
    /// not accepted before, or an unused recovery code (used up by this).
    pub async fn totp_check(&self, user: &str, code: &str) -> Result<FactorCheck, StateError> {
        let row = sqlx::query("SELECT secret FROM user_totp WHERE user_name = $1 AND confirmed_at IS NOT NULL")
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(FactorCheck::Wrong) };
        let secret: String = row.try_get(0)?;
        let code = normalise(code);
        if code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit()) {
            let totp = authenticator(user, &secret)?;
            let Some(step) = matching_step(&totp, &code, unix_now()) else {
                return Ok(FactorCheck::Wrong);
            };
            // Only a later step than the last accepted one moves it on, so
            // the same code (or an older one) sent twice passes once.
            let done = sqlx::query(
                "UPDATE user_totp SET last_step = $1 WHERE user_name = $2 AND (last_step IS NULL OR last_step < $1)",
            )
            .bind(step as i64)
            .bind(user)
            .execute(&self.pool)
            .await?;
            return Ok(if done.rows_affected() == 1 {
                FactorCheck::Code
            } else {
                FactorCheck::Reused
            });
        }
        let unused: Vec<(i64, String)> =
            sqlx::query("SELECT id, code_hash FROM totp_recovery WHERE user_name = $1 AND used_at IS NULL")
                .bind(user)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?;
        let found = tokio::task::spawn_blocking(move || {
            unused.into_iter().find_map(|(id, hash)| {
                let parsed = PasswordHash::new(&hash).ok()?;
                Argon2::default()
                    .verify_password(code.as_bytes(), &parsed)
                    .is_ok()
                    .then_some(id)
            })
        })
        .await
        .map_err(|e| StateError::Invalid(format!("checking a recovery code failed: {e}")))?;
        let Some(id) = found else { return Ok(FactorCheck::Wrong) };
        let done = sqlx::query("UPDATE totp_recovery SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(stamp(Utc::now()))
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(FactorCheck::Reused);
        }
        let left = match self.totp_state(user).await? {
            FactorState::On { recovery_left, .. } => recovery_left,
            _ => 0,
        };
        Ok(FactorCheck::Recovery { left })
    }

    /// Removes a user's second factor and recovery codes (a lost phone);
    /// false when they had none.
    pub async fn totp_reset(&self, user: &str) -> Result<bool, StateError> {
        if !self.user_exists(user).await? {
            return Err(StateError::Invalid(format!(
                "there is no user '{user}'; `ferry users list` shows the users"
            )));
        }
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM user_totp WHERE user_name = $1")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        for table in ["totp_recovery", "pending_logins"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE user_name = $1"))
                .bind(user)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Remembers a login whose password was right for `ttl`; the token the
    /// second form carries instead of the password.
    pub async fn open_pending_login(&self, user: &str, ttl: chrono::Duration) -> Result<String, StateError> {
        let token = super::logins::random_text();
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM pending_logins WHERE expires_at <= $1")
            .bind(stamp(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO pending_logins (token_hash, user_name, expires_at) VALUES ($1, $2, $3)")
            .bind(super::logins::token_hash(&token))
            .bind(user)
            .bind(stamp(now + ttl))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The user a pending login's token stands for, while it lasts.
    pub async fn pending_login(&self, token: &str) -> Result<Option<String>, StateError> {
        let row = sqlx::query("SELECT user_name FROM pending_logins WHERE token_hash = $1 AND expires_at > $2")
            .bind(super::logins::token_hash(token))
            .bind(stamp(Utc::now()))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Ends a pending login (it became a session), so its token works once.
    pub async fn close_pending_login(&self, token: &str) -> Result<(), StateError> {
        sqlx::query("DELETE FROM pending_logins WHERE token_hash = $1")
            .bind(super::logins::token_hash(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// argon2id hashes of `codes`, on a blocking thread (each takes tens of
/// milliseconds of CPU).
async fn hash_all(codes: Vec<String>) -> Result<Vec<String>, StateError> {
    tokio::task::spawn_blocking(move || {
        codes
            .iter()
            .map(|c| {
                let salt = SaltString::generate(&mut SaltRng);
                Argon2::default()
                    .hash_password(c.as_bytes(), &salt)
                    .map(|h| h.to_string())
                    .map_err(|e| StateError::Invalid(format!("cannot hash a recovery code: {e}")))
            })
            .collect()
    })
    .await
    .map_err(|e| StateError::Invalid(format!("hashing recovery codes failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_now(e: &Enrolment, user: &str, offset_steps: i64) -> String {
        let totp = authenticator(user, &e.secret).unwrap();
        let t = unix_now() as i64 + offset_steps * STEP_SECS as i64;
        totp.generate(t as u64)
    }

    #[tokio::test]
    async fn a_code_passes_once_and_recovery_codes_once_each() {
        let (_dir, store) = super::super::temp_store().await;
        store.add_user("ana", None, None).await.unwrap();
        assert_eq!(store.totp_state("ana").await.unwrap(), FactorState::Off);
        let e = store.totp_begin("ana").await.unwrap();
        assert!(e.url.starts_with("otpauth://totp/ferry:ana?"), "{}", e.url);
        assert!(!format!("{e:?}").contains(&e.secret), "Debug hides the secret");
        assert_eq!(store.totp_state("ana").await.unwrap(), FactorState::Enrolling);
        assert!(!store.totp_on("ana").await.unwrap(), "not asked for before confirming");
        assert_eq!(store.totp_confirm("ana", "000000x").await.unwrap(), None);
        // The confirming code's step is used up: the next login needs a later one.
        let first = code_now(&e, "ana", 0);
        let codes = store.totp_confirm("ana", &first).await.unwrap().unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert!(store.totp_on("ana").await.unwrap());
        assert_eq!(store.totp_check("ana", &first).await.unwrap(), FactorCheck::Reused);
        let later = code_now(&e, "ana", 1);
        assert_eq!(store.totp_check("ana", &later).await.unwrap(), FactorCheck::Code);
        assert_eq!(store.totp_check("ana", &later).await.unwrap(), FactorCheck::Reused);
        assert_eq!(store.totp_check("ana", "123").await.unwrap(), FactorCheck::Wrong);
        let typed = codes[3].to_uppercase().replace('-', " ");
        assert_eq!(
            store.totp_check("ana", &typed).await.unwrap(),
            FactorCheck::Recovery { left: 9 }
        );
        assert_eq!(store.totp_check("ana", &codes[3]).await.unwrap(), FactorCheck::Wrong);
        assert!(store.totp_begin("ana").await.is_err(), "on: reset first");
        assert!(store.totp_reset("ana").await.unwrap());
        assert_eq!(store.totp_state("ana").await.unwrap(), FactorState::Off);
        assert!(!store.totp_reset("ana").await.unwrap());
    }

    #[tokio::test]
    async fn a_pending_login_works_until_closed() {
        let (_dir, store) = super::super::temp_store().await;
        store.add_user("bo", None, None).await.unwrap();
        let t = store
            .open_pending_login("bo", chrono::Duration::minutes(5))
            .await
            .unwrap();
        assert_eq!(store.pending_login(&t).await.unwrap().as_deref(), Some("bo"));
        store.close_pending_login(&t).await.unwrap();
        assert_eq!(store.pending_login(&t).await.unwrap(), None);
        let gone = store
            .open_pending_login("bo", chrono::Duration::seconds(-1))
            .await
            .unwrap();
        assert_eq!(store.pending_login(&gone).await.unwrap(), None, "expired");
    }
}
