//! `tenantry check [PATH]`: see `tenantry --help`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let status = tenantry_cli::run(&args, &mut std::io::stdout().lock(), &mut std::io::stderr().lock());
    std::process::exit(status);
}
