use std::process::ExitCode;

fn main() -> ExitCode {
    match usercom::commands::run() {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("usercom: {err:#}");
            let code = err
                .downcast_ref::<usercom::Error>()
                .map(usercom::Error::exit_code)
                .unwrap_or(usercom::error::exit::FAILURE);
            ExitCode::from(code as u8)
        }
    }
}

/// Output piped into `head` and closed early is not a failure.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let io = cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind);
        let json = cause
            .downcast_ref::<serde_json::Error>()
            .and_then(serde_json::Error::io_error_kind);
        io.or(json) == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// A faster allocator: ingest allocates and frees many small strings per event. Built
/// without transparent huge pages (`no_thp`), which would count whole 2 MiB pages as
/// resident.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
