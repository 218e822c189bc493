//! `zhongshu`: parse the command line, run it, exit 0 (success), 1 (operation failed or
//! refused) or 2 (usage or configuration error).

use clap::Parser;
use zhongshu_cli::cli::Cli;

fn main() {
    // Stacks deep enough for the most complex statement a door accepts (see
    // zhongshu_engine::complexity).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(zhongshu_engine::complexity::STACK_BYTES)
        .build()
        .expect("the async runtime starts");
    // On a worker, whose stack is that size, not on the main thread.
    if let Err(panic) = runtime.block_on(runtime.spawn(run())) {
        std::panic::resume_unwind(panic.into_panic());
    }
}

async fn run() {
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
