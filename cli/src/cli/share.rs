//! The arguments of `zhongshu share …`.

use clap::Subcommand;

/// `zhongshu share …`
#[derive(Debug, Subcommand)]
pub enum ShareCommand {
    /// File a demand for your department: the data you need, in your words.
    Demand {
        /// The data needed.
        title: String,
        /// The business it serves (事项).
        #[arg(long)]
        business: String,
        /// The legal basis.
        #[arg(long)]
        basis: String,
        /// Items, if known (repeat).
        #[arg(long = "item")]
        items: Vec<String>,
        /// normal or urgent.
        #[arg(long, default_value = "normal")]
        urgency: String,
    },
    /// The demands you may see, with whether each is satisfied.
    Demands {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Match a demand to a resource, or mark it for cataloguing or not shareable.
    Match {
        /// Demand number.
        id: i64,
        /// The resource that meets it.
        #[arg(long, conflicts_with_all = ["to_catalogue", "not_shareable"])]
        resource: Option<String>,
        /// The data exists here but is not catalogued.
        #[arg(long)]
        to_catalogue: Option<String>,
        /// It may not be shared: the legal reason.
        #[arg(long)]
        not_shareable: Option<String>,
    },
    /// Request a resource for yourself (or your department with --for-department).
    Request {
        /// Resource code.
        resource: String,
        /// Columns (repeat; none: all).
        #[arg(long = "column")]
        columns: Vec<String>,
        /// Purpose (用途).
        #[arg(long)]
        purpose: String,
        /// Legal basis.
        #[arg(long)]
        basis: String,
        /// Rows, as a SQL predicate.
        #[arg(long)]
        rows: Option<String>,
        /// Days.
        #[arg(long, default_value_t = 365)]
        days: i64,
        /// The demand it answers.
        #[arg(long)]
        demand: Option<i64>,
        /// For your whole department.
        #[arg(long)]
        for_department: bool,
    },
    /// The requests you may see (yours, for you, and those you decide).
    Requests {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Approve a request, optionally narrowing it.
    Approve {
        /// Request number.
        id: i64,
        /// Only these columns (repeat).
        #[arg(long = "column")]
        columns: Vec<String>,
        /// Masks, COLUMN=MASK (repeat).
        #[arg(long = "mask")]
        masks: Vec<String>,
        /// A row filter in place of the one asked for.
        #[arg(long)]
        rows: Option<String>,
        /// Fewer days.
        #[arg(long)]
        days: Option<i64>,
    },
    /// Reject a request with the reason.
    Reject {
        /// Request number.
        id: i64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Renew a granted request before it expires.
    Renew {
        /// Request number.
        id: i64,
    },
    /// Add an entry to the sharing negative list (a data element, or a resource's column).
    NegativeAdd {
        /// Entry id.
        id: String,
        /// A data element, wherever bound.
        #[arg(long, conflicts_with = "resource")]
        element: Option<String>,
        /// A resource (with --column).
        #[arg(long, requires = "column")]
        resource: Option<String>,
        /// Its column.
        #[arg(long)]
        column: Option<String>,
        /// The legal basis for never sharing it.
        #[arg(long)]
        basis: String,
    },
    /// The negative list.
    Negative,
    /// Remove a negative-list entry.
    NegativeRemove {
        /// Entry id.
        id: String,
    },
    /// The sharing figures: demand satisfaction, decision times, sharing rate, grants by purpose.
    Metrics {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}
