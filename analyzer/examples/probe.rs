use tenantry_analyzer::{Backend, Mode, Schema, analyze, render};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = Backend::from_name(&args[1]).unwrap();
    let schema = Schema::with_shared(["countries", "currencies"]);
    match analyze(&args[2], backend, &schema, Mode::Scoped) {
        Ok(a) => println!("OK {:?} writes={}", a.kind, a.writes),
        Err(vs) => {
            for v in vs {
                println!("{:?}: {}\n", v.rule, render(&args[2], &v))
            }
        }
    }
}
