//! A process's figures from `/proc/PID/stat` (Linux): the CPU time it used and its parent, for
//! the benches that measure a server's CPU.

/// The line's fields from field 3 (the state) on, after the command name (which is in
/// parentheses and may hold spaces); empty when the process is gone.
fn fields(pid: u32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Field `n` as proc(5) numbers them (from 1), for `n` ≥ 3.
fn field(fields: &[String], n: usize) -> Option<u64> {
    fields.get(n - 3)?.parse().ok()
}

/// CPU seconds (user + system, all its threads) `pid` has used so far; 0 when it is gone.
pub fn cpu_seconds(pid: u32) -> f64 {
    let fields = fields(pid);
    let ticks = field(&fields, 14).unwrap_or(0) + field(&fields, 15).unwrap_or(0);
    ticks as f64 / rustix::param::clock_ticks_per_second() as f64
}

/// The processes whose parent is `parent` (nginx's workers, say).
pub fn children_of(parent: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| field(&fields(pid), 4) == Some(u64::from(parent)))
        .collect()
}
