//! The invariants, checked once the network has healed and every device
//! has synced to quiescence. Each failure says which promise broke and
//! where.

use std::collections::{HashMap, HashSet};

use suishoupai_core::protocol::{TaskFeed, WireReport};
use suishoupai_core::{SyncState, clock};
use suishoupai_server::blobs::BlobKind;

use super::workload::sync;
use super::world::{DEVICES, World};

/// Heals the network and syncs every device until a whole round sends
/// nothing and every run ends complete.
pub fn heal(w: &mut World) -> Result<(), String> {
    {
        let mut net = w.net.lock().unwrap();
        net.healed = true;
        net.partitioned.iter_mut().for_each(|p| *p = false);
    }
    let mut last = String::new();
    for _round in 0..12 {
        let mut quiet = true;
        for i in 0..DEVICES {
            match sync(w, i)? {
                Some(s) if s.pushed == 0 && s.actions_sent == 0 && s.actions_refused == 0 => {}
                Some(_) => quiet = false,
                None => {
                    quiet = false;
                    let skew = w.devices[i].skew_ms;
                    let store = w.devices[i].store();
                    let (pending, actions) = clock::skewed(skew, || (store.pending_count(), store.pending_action_count()));
                    last = format!("{}'s sync stays incomplete ({pending:?} reports, {actions:?} actions queued)", w.devices[i].name);
                }
            }
        }
        if quiet {
            return Ok(());
        }
    }
    Err(format!("no quiescence after the network healed: {last}"))
}

fn sql_err(e: rusqlite::Error) -> String {
    format!("reading the server's database: {e}")
}

pub fn check(w: &mut World) -> Result<(), String> {
    let net = w.net.lock().unwrap();
    let server = net.server();
    let db = rusqlite::Connection::open(server.dir().join("server.sqlite3")).map_err(sql_err)?;

    // 1. Every report made on a device is on the server exactly once, as
    //    the device made it, with its photos whole.
    let mut bodies: HashMap<String, String> = HashMap::new();
    let mut statuses: HashMap<String, String> = HashMap::new();
    {
        let mut rows = db.prepare("SELECT id, body, status FROM reports").map_err(sql_err)?;
        let mut rows = rows.query([]).map_err(sql_err)?;
        while let Some(row) = rows.next().map_err(sql_err)? {
            let id: String = row.get(0).map_err(sql_err)?;
            statuses.insert(id.clone(), row.get(2).map_err(sql_err)?);
            if bodies.insert(id.clone(), row.get(1).map_err(sql_err)?).is_some() {
                return Err(format!("report {id} is on the server twice"));
            }
        }
    }
    let made: usize = w.devices.iter().map(|d| d.created.len()).sum();
    if bodies.len() != made {
        return Err(format!("the server holds {} reports, the devices made {made}", bodies.len()));
    }
    for device in &w.devices {
        for report in &device.created {
            let id = report.id.to_string();
            let Some(body) = bodies.get(&id) else { return Err(format!("{}'s report {id} is not on the server", device.name)) };
            let stored: WireReport = serde_json::from_str(body).map_err(|e| format!("report {id}'s stored body: {e}"))?;
            let made = WireReport::from(report);
            let shas =
                |w: &WireReport| (w.photos.iter().chain(&w.after_photos).map(|p| p.sha256.clone()).collect::<Vec<_>>(), w.fixed_on_spot);
            if (&stored.category, &stored.note, &stored.created_at, shas(&stored))
                != (&made.category, &made.note, &made.created_at, shas(&made))
            {
                return Err(format!("{}'s report {id} is on the server with other content", device.name));
            }
            for photo in report.photos.iter().chain(&report.after_photos) {
                let bytes = server.state().blobs.get(BlobKind::Photo, &photo.sha256).map_err(|e| e.to_string())?;
                match bytes {
                    Some(bytes) if suishoupai_core::photo::sha256_hex(&bytes) == photo.sha256 => {}
                    Some(_) => return Err(format!("photo {} of report {id} is damaged on the server", photo.sha256)),
                    None => return Err(format!("photo {} of report {id} is missing on the server", photo.sha256)),
                }
            }
        }
    }

    // 2. Every action applied at most once; every one a device or the
    //    console saw accepted applied exactly once, every refused one never.
    let mut applied: HashMap<String, u32> = HashMap::new();
    {
        let mut rows = db.prepare("SELECT action_id FROM events WHERE action_id IS NOT NULL").map_err(sql_err)?;
        for id in rows.query_map([], |r| r.get::<_, String>(0)).map_err(sql_err)? {
            *applied.entry(id.map_err(sql_err)?).or_default() += 1;
        }
    }
    if let Some((id, n)) = applied.iter().find(|(_, n)| **n > 1) {
        return Err(format!("action {id} was applied {n} times"));
    }
    let mut known: HashSet<String> = HashSet::new();
    for device in &w.devices {
        let store_db = rusqlite::Connection::open(device.dir.join("store.sqlite3")).map_err(sql_err)?;
        let mut rows = store_db.prepare("SELECT action_id, action, sync_state, coalesce(sync_error, '') FROM actions").map_err(sql_err)?;
        let rows: Vec<(String, String, String, String)> = rows
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(sql_err)?
            .collect::<Result<_, _>>()
            .map_err(sql_err)?;
        for (id, action, state, error) in rows {
            let on_server = applied.contains_key(&id);
            match state.as_str() {
                "synced" if !on_server => return Err(format!("{}'s {action} {id} was acknowledged but is not on the server", device.name)),
                "failed" if on_server => {
                    return Err(format!("{}'s {action} {id} shows refused ({error}) but the server applied it", device.name));
                }
                "pending" => return Err(format!("{}'s {action} {id} is still pending after the network healed", device.name)),
                _ => {}
            }
            known.insert(id);
        }
    }
    for id in &w.console.acknowledged {
        if !applied.contains_key(id) {
            return Err(format!("the console's action {id} was acknowledged but is not on the server"));
        }
    }
    for (id, why) in &w.console.refused {
        if applied.contains_key(id) {
            return Err(format!("the console's action {id} was refused ({why}) but the server applied it"));
        }
    }

    // 3. Every device's view of its reports and tasks is the server's.
    drop(db);
    for device in &w.devices {
        let feed: TaskFeed = serde_json::from_slice(&net.look(&device.token, "/v1/tasks").body).map_err(|e| format!("a feed: {e}"))?;
        let store = device.store.as_ref().ok_or("a device is down after healing")?;
        let skew = device.skew_ms;
        let (mine, tasks, me) = clock::skewed(skew, || (store.list_reports(), store.tasks(), store.me()));
        let mine = mine.map_err(|e| e.to_string())?;
        let tasks = tasks.map_err(|e| e.to_string())?;
        if me.map_err(|e| e.to_string())?.as_ref() != Some(&feed.me) {
            return Err(format!("{} does not know who it is as the server says", device.name));
        }
        if mine.len() != device.created.len() {
            return Err(format!("{} holds {} reports, it made {}", device.name, mine.len(), device.created.len()));
        }
        for report in &mine {
            let id = report.id.to_string();
            if report.sync_state != SyncState::Synced {
                return Err(format!(
                    "{}'s report {id} is {:?} after the network healed: {:?}",
                    device.name, report.sync_state, report.sync_error
                ));
            }
            if statuses.get(&id).map(String::as_str) != Some(report.status.code()) {
                return Err(format!("{} sees its report {id} {} and the server {:?}", device.name, report.status, statuses.get(&id)));
            }
        }
        let seen: Vec<(String, String)> = tasks.iter().filter(|t| t.in_feed).map(|t| (t.id.clone(), t.status.code().to_owned())).collect();
        let served: Vec<(String, String)> = feed.tasks.iter().map(|t| (t.id.clone(), t.status.code().to_owned())).collect();
        if seen != served {
            return Err(format!("{}'s task list {seen:?} is not the server's {served:?}", device.name));
        }
        if let Some(t) = tasks.iter().find(|t| t.status != t.server_status || t.pending_actions > 0) {
            return Err(format!("{}'s task {} still has actions of its own pending", device.name, t.id));
        }
    }
    Ok(())
}
