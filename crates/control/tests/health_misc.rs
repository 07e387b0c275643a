//! MISC_CHECK end to end with real scripts: exit codes, misc_dynamic weights, the
//! command line split into words, misc_timeout killing the script's process group.

mod health_common;

use std::time::{Duration, Instant};

use health_common::{conf_in, wait_for, Running, TempDir};

fn vs(n: u8, alpha: bool, checker: &str) -> String {
    format!(
        "virtual_server 10.0.2.{n} 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n{}\
         real_server 10.0.3.{n} 80 {{\n weight 1\n MISC_CHECK {{\n warmup 0\n{checker} }}\n }}\n}}\n",
        if alpha { " alpha\n" } else { "" }
    )
}

#[test]
fn exit_codes_and_dynamic_weights() {
    let d = TempDir::new("misc");
    let ok = d.script("ok.sh", "exit 0");
    let bad = d.script("bad.sh", "exit 1");
    let seven = d.script("seven.sh", "exit 7");
    let args = d.script("args.sh", &format!("printf '%s|' \"$@\" > {}\nexit 0", d.path("args.out").display()));
    let cases = [
        vs(1, true, &format!(" misc_path {}\n", ok.display())),
        vs(2, false, &format!(" misc_path {}\n", bad.display())),
        vs(3, false, &format!(" misc_path {}\n misc_dynamic\n", seven.display())),
        // Without misc_dynamic, 7 is a failure.
        vs(4, false, &format!(" misc_path {}\n", seven.display())),
        vs(5, true, &format!(" misc_path \"{} one 'two words'\"\n", args.display())),
    ];
    let r = Running::start(&conf_in(&d, &cases.concat()));
    let limit = Duration::from_secs(15);
    r.wait_servers(0, &["10.0.3.1:80=1"], limit);
    r.wait_servers(1, &[], limit);
    r.wait_servers(2, &["10.0.3.3:80=5"], limit);
    r.wait_servers(3, &[], limit);
    r.wait_servers(4, &["10.0.3.5:80=1"], limit);
    assert_eq!(std::fs::read_to_string(d.path("args.out")).unwrap(), "one|two words|");
    assert!(r.log().contains("failed (exit status 1)"), "{}", r.log());
    assert!(r.log().contains("weight 1 -> 5"), "{}", r.log());
}

#[test]
fn misc_timeout_kills_the_script() {
    let d = TempDir::new("misc-timeout");
    let pids = d.path("pids");
    // The shell and its child sleep both belong to the script's process group.
    let slow = d.script("slow.sh", &format!("sleep 30 &\necho $! >> {}\nwait", pids.display()));
    let r = Running::start(&conf_in(&d, &vs(1, false, &format!(" misc_path {}\n misc_timeout 1\n", slow.display()))));
    // Bootstrap 1 s + timeout 1 s + SIGTERM handling.
    r.wait_servers(0, &[], Duration::from_secs(15));
    assert!(r.log().contains("failed (timed out after 1s)"), "{}", r.log());
    let first = std::fs::read_to_string(&pids).unwrap();
    let pid = first.lines().next().expect("a pid").trim().to_string();
    let gone = wait_for(Duration::from_secs(5), || !std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(gone.is_some(), "the script's child {pid} was killed with its group");
}

#[test]
fn stop_ends_a_running_script_promptly() {
    let d = TempDir::new("misc-stop");
    let started = d.path("started");
    let slow = d.script("slow.sh", &format!("touch {}\nexec sleep 60", started.display()));
    let mut r =
        Running::start(&conf_in(&d, &vs(1, false, &format!(" misc_path {}\n misc_timeout 60\n", slow.display()))));
    wait_for(Duration::from_secs(10), || started.exists()).expect("script started");
    let t = Instant::now();
    r.stop();
    assert!(t.elapsed() < Duration::from_secs(5), "stop took {:?}", t.elapsed());
}
