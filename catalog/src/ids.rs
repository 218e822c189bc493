//! Identifier newtypes.
//!
//! Every catalog entity is addressed by a stable text identifier. Wrapping each kind in its own
//! type keeps an organisation code from being passed where a resource code is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an identifier.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

text_id!(
    /// An organisation unit, e.g. `440310-gaj` (坪山公安分局) or `440310001` (坪山街道).
    OrgId
);
text_id!(
    /// A principal: the user name of a person, service account or external recipient.
    PrincipalId
);
text_id!(
    /// A data element (数据元), e.g. `resident_id` for 公民身份号码.
    ElementId
);
text_id!(
    /// A resource (数据资源) by its catalogue code, e.g. `440310-GA-0001`.
    ResourceId
);
text_id!(
    /// An ingest job, e.g. `gaj-persons`.
    JobId
);
