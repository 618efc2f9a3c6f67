//! `cargo tenantry check [PATH]`: cargo runs `cargo-tenantry tenantry check [PATH]`.

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // Cargo passes the subcommand's name first; run by hand, it may be absent.
    if args.first().is_some_and(|a| a == "tenantry") {
        args.remove(0);
    }
    let status = tenantry_cli::run(&args, &mut std::io::stdout().lock(), &mut std::io::stderr().lock());
    std::process::exit(status);
}
