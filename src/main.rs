// The server allocates many short-lived strings per request (form fields,
// JSON); mimalloc handles that churn better than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    shenbao::cli::main()
}
