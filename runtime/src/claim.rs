//! [`JobClaim`]: hand a tenant to a background job without handing it a guard.
//!
//! A guard lives in memory; a job crosses a queue. The claim is a signed, expiring
//! statement "this job acts for tenant X", made only from a [`Scope`]; the worker turns
//! it back into a `Scope` through [`Db::redeem`], which checks the signature and the
//! expiry, re-runs the policy and audits the outcome.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use sqlx::Database;

use crate::audit::AuditKind;
use crate::error::ClaimRefusal;
use crate::{Db, Error, Result, Scope, TenantKey};

/// The shortest key accepted for signing claims, in bytes.
pub const MIN_CLAIM_KEY_LEN: usize = 32;

/// A signed, expiring token naming the tenant a background job acts for.
///
/// Serialisable with serde, so it travels in any job payload.
///
/// **A claim is a bearer token, valid until it expires.** Whoever holds it may redeem
/// it, any number of times, until `expires_at`: tenantry keeps no record of redeemed
/// claims (redeeming is a pure check, with no I/O). So
/// - keep the `ttl` to what the queue needs (minutes, not days), and the payload as
///   private as the queue itself;
/// - make the job idempotent, or deduplicate on the queue's own job id, if running it twice
///   matters: a redelivered message, a retried job or a copied payload all redeem;
/// - to stop a tenant's outstanding claims at once, suspend it: every redeem re-runs the
///   policy, so `DenySuspended` refuses them (and so does rotating the claim key, for
///   every tenant).
///
/// The signature has one spelling, 64 lowercase hex digits; any other (upper case
/// included) is refused as [`ClaimRefusal::MalformedSignature`](crate::ClaimRefusal::MalformedSignature).
///
/// ```
/// # async fn demo() -> tenantry::Result<()> {
/// use std::time::Duration;
/// use tenantry::{Db, JobClaim, TenantId};
/// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
/// let db: Db<sqlx::Sqlite> = Db::builder(pool).claim_key([7u8; 32]).build();
/// let scope = db.scope(TenantId::parse("acme")?)?;
/// let claim: JobClaim = db.claim(&scope, Duration::from_secs(600))?;
/// // ... the claim crosses a queue as JSON ...
/// let back: tenantry::Scope = db.redeem(&claim)?;
/// assert_eq!(back.tenant().as_str(), "acme");
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobClaim {
    /// The tenant, as text.
    pub tenant: String,
    /// Seconds since the Unix epoch when the claim was made.
    pub issued_at: u64,
    /// Seconds since the Unix epoch after which the claim is refused.
    pub expires_at: u64,
    /// HMAC-SHA256 over the fields above: 64 lowercase hex digits, the only spelling
    /// [`Db::redeem`] accepts.
    pub signature: String,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn mac(key: &[u8], tenant: &str, issued_at: u64, expires_at: u64) -> Result<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .map_err(|_| Error::InvalidClaim(ClaimRefusal::WeakKey { min: MIN_CLAIM_KEY_LEN }))?;
    // Length-prefixed so that no two field tuples share a byte string.
    mac.update(b"tenantry-claim-v1");
    mac.update(&(tenant.len() as u64).to_be_bytes());
    mac.update(tenant.as_bytes());
    mac.update(&issued_at.to_be_bytes());
    mac.update(&expires_at.to_be_bytes());
    Ok(mac)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The signature's one spelling: exactly 64 lowercase hex digits. Upper case, a `+`
/// (which `from_str_radix` would take) or any other length is refused, so that one claim
/// has one byte string.
fn unhex(s: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    if s.len() != 64 {
        return None;
    }
    s.as_bytes().chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

impl<DB: Database> Db<DB> {
    fn claim_key(&self) -> Result<&[u8]> {
        match &self.settings().claim_key {
            Some(k) if k.len() >= MIN_CLAIM_KEY_LEN => Ok(k),
            Some(_) => Err(Error::InvalidClaim(ClaimRefusal::WeakKey { min: MIN_CLAIM_KEY_LEN })),
            None => Err(Error::InvalidClaim(ClaimRefusal::NoKey)),
        }
    }

    /// Signs a claim for `scope`'s tenant, valid for `ttl`.
    pub fn claim<K: TenantKey>(&self, scope: &Scope<K>, ttl: Duration) -> Result<JobClaim> {
        let key = self.claim_key()?;
        let tenant = scope.tenant().key_str().into_owned();
        let issued_at = now();
        let expires_at = issued_at.saturating_add(ttl.as_secs().max(1));
        let signature = hex(&mac(key, &tenant, issued_at, expires_at)?.finalize().into_bytes());
        self.record(Some(&tenant), AuditKind::ClaimIssued);
        Ok(JobClaim { tenant, issued_at, expires_at, signature })
    }

    /// Turns a claim back into a scope: signature, expiry, tenant key and policy are
    /// checked, and the outcome is audited either way. A refusal is
    /// [`Error::InvalidClaim`] with the [`ClaimRefusal`] (or [`Error::Denied`] from the
    /// policy).
    ///
    /// A claim redeems as often as it is presented until it expires: it is a bearer
    /// token (see [`JobClaim`] for what to do about it).
    pub fn redeem<K: TenantKey>(&self, claim: &JobClaim) -> Result<Scope<K>> {
        // Until the signature verifies, the tenant in the claim is only what someone wrote:
        // the event is not attributed to it, the reason quotes it.
        let refuse = |refusal: ClaimRefusal| {
            let quoted = format!("{refusal} (the claim names tenant `{}`)", claim.tenant.escape_debug());
            self.record(None, AuditKind::ClaimRefused { reason: quoted });
            Error::InvalidClaim(refusal)
        };
        let key = self.claim_key()?;
        let signature = unhex(&claim.signature).ok_or_else(|| refuse(ClaimRefusal::MalformedSignature))?;
        mac(key, &claim.tenant, claim.issued_at, claim.expires_at)?
            .verify_slice(&signature)
            .map_err(|_| refuse(ClaimRefusal::BadSignature))?;
        if now() > claim.expires_at {
            return Err(refuse(ClaimRefusal::Expired { at: claim.expires_at }));
        }
        let tenant = K::parse_key(&claim.tenant).ok_or_else(|| refuse(ClaimRefusal::InvalidTenantKey))?;
        let scope = self.scope(tenant).inspect_err(|e| {
            self.record(Some(&claim.tenant), AuditKind::ClaimRefused { reason: e.to_string() });
        })?;
        self.record(Some(&claim.tenant), AuditKind::ClaimRedeemed);
        Ok(scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TenantId;

    async fn db() -> Db<sqlx::Sqlite> {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        Db::builder(pool).claim_key(*b"0123456789abcdef0123456789abcdef").build()
    }

    #[tokio::test]
    async fn a_claim_round_trips_through_json() {
        let db = db().await;
        let scope = db.scope(TenantId::parse("acme").unwrap()).unwrap();
        let claim = db.claim(&scope, Duration::from_secs(60)).unwrap();
        let json = serde_json::to_string(&claim).unwrap();
        let back: JobClaim = serde_json::from_str(&json).unwrap();
        let scope: Scope = db.redeem(&back).unwrap();
        assert_eq!(scope.tenant().as_str(), "acme");
    }

    #[tokio::test]
    async fn tampered_and_expired_claims_are_refused() {
        let db = db().await;
        let scope = db.scope(TenantId::parse("acme").unwrap()).unwrap();
        let claim = db.claim(&scope, Duration::from_secs(60)).unwrap();

        let other_tenant = JobClaim { tenant: "globex".into(), ..claim.clone() };
        let err = db.redeem::<TenantId>(&other_tenant).unwrap_err();
        assert!(err.to_string().contains("signature does not match"), "{err}");

        let longer = JobClaim { expires_at: claim.expires_at + 3600, ..claim.clone() };
        assert!(matches!(db.redeem::<TenantId>(&longer), Err(Error::InvalidClaim(_))));

        let garbage = JobClaim { signature: "zz".into(), ..claim.clone() };
        assert!(matches!(db.redeem::<TenantId>(&garbage), Err(Error::InvalidClaim(_))));

        // Expired: sign one whose window closed, with the real key.
        let key = *b"0123456789abcdef0123456789abcdef";
        let signature = hex(&mac(&key, "acme", 10, 20).unwrap().finalize().into_bytes());
        let old = JobClaim { tenant: "acme".into(), issued_at: 10, expires_at: 20, signature };
        let err = db.redeem::<TenantId>(&old).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
        assert_eq!(err.claim_refusal(), Some(&ClaimRefusal::Expired { at: 20 }));
    }

    #[test]
    fn the_signature_has_one_spelling() {
        let sig = "00ff".repeat(16);
        assert_eq!(unhex(&sig).unwrap(), [0, 255].repeat(16));
        assert_eq!(unhex(&sig.to_uppercase()), None);
        assert_eq!(unhex(&format!("+0{}", &sig[2..])), None, "from_str_radix would take a `+`");
        assert_eq!(unhex(&sig[2..]), None, "short");
        assert_eq!(unhex(&format!("{sig}00")), None, "long");
        assert_eq!(unhex(&format!(" {}", &sig[1..])), None);
    }

    #[tokio::test]
    async fn an_upper_case_signature_is_refused() {
        let db = db().await;
        let scope = db.scope(TenantId::parse("acme").unwrap()).unwrap();
        let claim = db.claim(&scope, Duration::from_secs(60)).unwrap();
        assert_eq!(claim.signature.len(), 64);
        assert!(claim.signature.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')), "{}", claim.signature);
        let upper = JobClaim { signature: claim.signature.to_uppercase(), ..claim.clone() };
        assert_ne!(upper.signature, claim.signature, "the signature has letters");
        let err = db.redeem::<TenantId>(&upper).unwrap_err();
        assert_eq!(err.claim_refusal(), Some(&ClaimRefusal::MalformedSignature), "{err}");
        assert!(db.redeem::<TenantId>(&claim).is_ok());
    }

    /// The documented bearer semantics: nothing records a redeemed claim.
    #[tokio::test]
    async fn a_claim_redeems_until_it_expires() {
        let db = db().await;
        let scope = db.scope(TenantId::parse("acme").unwrap()).unwrap();
        let claim = db.claim(&scope, Duration::from_secs(60)).unwrap();
        for _ in 0..3 {
            assert_eq!(db.redeem::<TenantId>(&claim).unwrap().tenant().as_str(), "acme");
        }
    }

    #[tokio::test]
    async fn refusals_say_why() {
        let db = db().await;
        let scope = db.scope(TenantId::parse("acme").unwrap()).unwrap();
        let claim = db.claim(&scope, Duration::from_secs(60)).unwrap();
        let altered = JobClaim { tenant: "globex".into(), ..claim.clone() };
        assert_eq!(db.redeem::<TenantId>(&altered).unwrap_err().claim_refusal(), Some(&ClaimRefusal::BadSignature));
        let keyless = Db::new(sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap());
        assert_eq!(keyless.redeem::<TenantId>(&claim).unwrap_err().claim_refusal(), Some(&ClaimRefusal::NoKey));
        let weak = Db::builder(sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap()).claim_key([1u8; 8]).build();
        let err = weak.claim(&scope, Duration::from_secs(60)).unwrap_err();
        assert_eq!(err.claim_refusal(), Some(&ClaimRefusal::WeakKey { min: MIN_CLAIM_KEY_LEN }));
        // The signature verifies, the tenant is not an integer key.
        assert_eq!(db.redeem::<i64>(&claim).unwrap_err().claim_refusal(), Some(&ClaimRefusal::InvalidTenantKey));
    }

    #[tokio::test]
    async fn another_key_does_not_verify() {
        let db = db().await;
        let scope = db.scope(TenantId::parse("acme").unwrap()).unwrap();
        let claim = db.claim(&scope, Duration::from_secs(60)).unwrap();
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let other: Db<sqlx::Sqlite> = Db::builder(pool).claim_key([9u8; 32]).build();
        assert!(other.redeem::<TenantId>(&claim).is_err());
    }
}
