//! `zhongshu`: parse the command line, run it, exit 0 (success), 1 (operation failed or
//! refused) or 2 (usage or configuration error).

use clap::Parser;
use zhongshu_cli::cli::Cli;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = zhongshu_cli::run(cli).await {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
