//! The arguments of `zhongshu standards …`.

use clap::Subcommand;
use std::path::PathBuf;

/// `zhongshu standards …`
#[derive(Debug, Subcommand)]
pub enum StandardsCommand {
    /// Add a data element, with the check applied wherever it is bound.
    ElementAdd {
        /// Element id (letters, digits, `_`, `-`, `.`).
        #[arg(long)]
        id: String,
        /// Chinese name.
        #[arg(long)]
        name: String,
        /// English name.
        #[arg(long, default_value = "")]
        name_en: String,
        /// The defining standard, e.g. GB/T 4754-2017.
        #[arg(long)]
        standard: Option<String>,
        /// Type: string, int64, float64, date, timestamp, boolean.
        #[arg(long = "type", default_value = "string")]
        data_type: String,
        /// A built-in validator (resident_id, uscc, bank_card, mobile, email, division_code, sex_code).
        #[arg(long, conflicts_with = "pattern")]
        validator: Option<String>,
        /// A regular expression every value must match whole.
        #[arg(long)]
        pattern: Option<String>,
        /// Default category of bound columns.
        #[arg(long)]
        category: String,
        /// Default grade of bound columns.
        #[arg(long)]
        grade: String,
        /// Definition.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List the code lists.
    CodeLists {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Show one code list's codes.
    CodeList {
        /// Code list id.
        id: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Load (or reload) a code list from a CSV file with `code,label` (or 代码,名称) columns.
    CodeListLoad {
        /// The CSV file.
        file: PathBuf,
        /// Code list id.
        #[arg(long)]
        id: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// The defining standard.
        #[arg(long)]
        standard: Option<String>,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Remove a code list no rule uses.
    CodeListRemove {
        /// Code list id.
        id: String,
    },
    /// The system inventory, with systems that produce no catalogued resource flagged.
    Systems {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Register (or change) information systems from a TOML file of `[[systems]]` (id, name,
    /// org, description, operator, resources).
    SystemRegister {
        /// The TOML file.
        file: PathBuf,
    },
    /// Remove a system from the inventory.
    SystemRemove {
        /// System id.
        id: String,
    },
    /// Export the data dictionary of a department or of the whole catalogue.
    Dictionary {
        /// Only this department's resources.
        #[arg(long)]
        org: Option<String>,
        /// csv or xlsx.
        #[arg(long, default_value = "xlsx")]
        format: String,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
}
