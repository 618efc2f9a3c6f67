//! Prints the analyser's verdict on one statement, as a compile error would show it:
//!
//! ```sh
//! cargo run -p tenantry-analyzer --example probe -- postgres "SELECT id FROM invoices WHERE id = :id"
//! ```
//!
//! The schema is the test suite's: every table tenant-owned by `tenant_id`, except the
//! shared `countries` and `currencies`.

use tenantry_analyzer::{Backend, Mode, Schema, analyze, render};

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(backend), Some(sql)) = (args.first().and_then(|b| Backend::from_name(b)), args.get(1)) else {
        eprintln!("usage: probe <sqlite|postgres|mysql> <statement>");
        return std::process::ExitCode::from(2);
    };
    let schema = Schema::with_shared(["countries", "currencies"]);
    match analyze(sql, backend, &schema, Mode::Scoped) {
        Ok(a) => {
            println!("confined: {:?}, writes: {}, returns rows: {}", a.kind, a.writes, a.returns_rows);
            std::process::ExitCode::SUCCESS
        }
        Err(violations) => {
            for v in &violations {
                println!("[{:?}] {}\n", v.rule, render(sql, v));
            }
            std::process::ExitCode::from(1)
        }
    }
}
