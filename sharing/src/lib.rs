//! Sharing for zhongshu: the demand list (需求清单), share requests (共享申请) that become grants,
//! the sharing negative list (负面清单) and the sharing metrics the plans assess — on the one way
//! in: every step is decided with Cedar by the same authorizer as SQL, and every state change
//! is in the change log. (The Delta Sharing protocol, server and client, comes later.)
//!
//! - A **demand** is what a department needs in its words; data officers match it to a
//!   resource, or mark it for cataloguing or not shareable. It is satisfied when an active grant
//!   from a request answering it covers it.
//! - A **request** for a 无条件共享 resource is granted at once (by the system, recorded like any
//!   other); for 有条件共享 the owning department's data officer (or the CDO) approves, with
//!   conditions or not, or rejects with a reason; for 不予共享 only the CDO decides, and only on a
//!   legal basis. A request touching the negative list is refused with the list's basis.
#![deny(missing_docs)]

pub mod demands;
pub mod metrics;
pub mod requests;

pub use demands::DemandView;
pub use metrics::Metrics;
pub use requests::RequestView;
