//! The nginx WebDAV anchor of the sync figures.

use super::*;

/// Kills and reaps a child (nginx) when dropped, also on error.
pub(crate) struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

pub(crate) fn nginx_version() -> Option<String> {
    let out = Command::new("nginx").arg("-v").stdout(Stdio::null()).output().ok()?;
    // nginx prints its version on stderr.
    out.status.success().then(|| String::from_utf8_lossy(&out.stderr).trim().trim_start_matches("nginx version: ").to_owned())
}

/// Our own nginx: one process (no master, no daemon), WebDAV PUT into a
/// directory of the temp dir, killed when dropped.
pub(crate) struct Nginx {
    pub(crate) port: u16,
    pub(crate) root: PathBuf,
    pub(crate) dir: PathBuf,
    pub(crate) _child: KillOnDrop,
}

impl Nginx {
    /// In `dir`, made if missing: its config, logs and the PUT files.
    pub(crate) fn start(dir: &Path) -> Result<Nginx> {
        let dir = dir.to_path_buf();
        let root = dir.join("root");
        fs::create_dir_all(&root)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let d = dir.display();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             \x20 server {{\n    listen 127.0.0.1:{port};\n    root {root};\n    location / {{\n      dav_methods PUT;\n      client_max_body_size 20m;\n    }}\n  }}\n}}\n",
            root = root.display()
        );
        let conf_path = dir.join("nginx.conf");
        fs::write(&conf_path, conf)?;
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(dir.join("stderr.log"))?)
            .spawn()?;
        let mut child = KillOnDrop(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.0.try_wait()? {
                let log = fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
                return Err(format!("nginx exited ({status}): {}", log.trim()).into());
            }
            if Instant::now() > deadline {
                return Err("nginx did not listen within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(Nginx { port, root, dir, _child: child })
    }

    /// PUTs every file with curl, CURL_BATCH per process (one connection
    /// each), the processes one after another. Returns the wall time and
    /// what nginx stored (files, bytes).
    pub(crate) fn put_all(&self, files: &[PathBuf]) -> Result<(Duration, usize, u64)> {
        let log = self.dir.join("curl-stderr.log");
        let start = Instant::now();
        for (b, batch) in files.chunks(CURL_BATCH).enumerate() {
            let mut cmd = Command::new("curl");
            cmd.args(["-sS", "--fail"]);
            for (i, file) in batch.iter().enumerate() {
                cmd.arg("-T").arg(file).arg(format!("http://127.0.0.1:{}/{b}-{i}.jpg", self.port));
            }
            measure_process(cmd.stdout(Stdio::null()), &log)?;
        }
        let took = start.elapsed();
        let mut bytes = 0;
        let mut count = 0;
        for entry in fs::read_dir(&self.root)? {
            bytes += entry?.metadata()?.len();
            count += 1;
        }
        Ok((took, count, bytes))
    }
}
