//! The HTTP edge every web door shares (the catalog API, the SQL door, later the console pages,
//! the open-data portal and Delta Sharing routes): who the caller is, and how a failure is
//! answered.
//!
//! - [`Authenticated`]: the principal named by `Authorization: Bearer TOKEN` (the scheme in
//!   any case), looked up in the catalog through the [`Core`](zhongshu_engine::Core) the router
//!   holds; an unknown, revoked or missing token is `401 unauthenticated`.
//! - [`ApiError`]: the one error body, `{"error": {"code": "...", "message": "..."}}` with a
//!   stable `code` (and the PostgreSQL `sqlstate` where a statement failed), built from each
//!   domain's typed errors so that no handler writes its own.
//! - [`Sessions`] and [`SignedIn`]: people signed in with a password in a browser, held by a
//!   cookie, with form tokens, expiry and lock-out ([`session`]).
#![deny(missing_docs)]

pub mod error;
pub mod principal;
pub mod session;

pub use error::ApiError;
pub use principal::Authenticated;
pub use session::{SessionConfig, Sessions, SignInRefused, SignedIn};
