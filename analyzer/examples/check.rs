//! Prints the analyser's verdict on one statement: `cargo run -p tenantry-analyzer --example check -- postgres "SQL"`.
use tenantry_analyzer::{Backend, Mode, Schema, analyze, render};

fn main() {
    let mut args = std::env::args().skip(1);
    let backend = args.next().and_then(|b| Backend::from_name(&b)).unwrap_or(Backend::Postgres);
    let schema = Schema::with_shared(["countries", "currencies"]);
    for sql in args {
        match analyze(&sql, backend, &schema, Mode::Scoped) {
            Ok(a) => println!("OK {:?} writes={} rows={}\n", a.kind, a.writes, a.returns_rows),
            Err(vs) => {
                for v in vs {
                    println!("ERR {}\n", render(&sql, &v));
                }
            }
        }
    }
}
