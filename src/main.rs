fn main() -> std::process::ExitCode {
    mailtriage::cli::run()
}
