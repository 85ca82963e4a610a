//! Where a benchmark ran: cores, CPU, OS, similarity kernels, peak memory.

use serde::Serialize;

use crate::index::kernel_name;

/// The machine a report was measured on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Threads the process may run at once (`available_parallelism`; 1 where unknown).
    pub cores: usize,
    /// The CPU's model name; `None` where unknown (not Linux).
    pub cpu: Option<String>,
    /// Operating system and architecture, e.g. `linux-x86_64`.
    pub os: String,
    /// Instruction set of the similarity kernels picked at run time.
    pub dot_kernel: &'static str,
}

impl Machine {
    /// This machine (the CPU's model name from /proc/cpuinfo, Linux only).
    pub fn this() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        });
        Machine {
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            cpu,
            os: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
            dot_kernel: kernel_name(),
        }
    }
}

/// Peak resident memory of this process so far (`VmHWM` of
/// /proc/self/status) in KiB; `None` where unknown (not Linux).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_parsed() {
        assert_eq!(
            parse_vm_hwm("Name:\tx\nVmHWM:\t  123456 kB\nVmRSS:\t1 kB\n"),
            Some(123456)
        );
        assert_eq!(parse_vm_hwm("Name:\tx\n"), None);
    }
}
