//! What the actors do, one step at a time, each step chosen by the seed:
//! residents and the grid worker report (offline, with photos), the grid
//! worker and the department act on their tasks (offline), devices sync
//! over the rough network and may be killed mid-sync, the coordinator works
//! cases from the console, and the world misbehaves between steps
//! (partitions, crashes of a device or the server, clocks that drift).

use suishoupai_core::clock;
use suishoupai_core::domain::Action;
use suishoupai_core::protocol::ActionRequest;
use suishoupai_core::sync::{ActOutcome, Transport, Trigger};
use suishoupai_core::{
    CATEGORIES, Crs, Error, LocationInput, LocationSource, PhotoSource, ReportDraft, Reporter, Role, SyncSummary, TaskAction,
};

use super::net::SimTransport;
use super::world::{CONSOLE, DEVICES, World, templates};

/// Takes one step; an error is a broken expectation (an invariant).
pub fn step(w: &mut World) -> Result<(), String> {
    match w.rng.below(100) {
        0..=19 => create_report(w),
        20..=31 => device_act(w),
        32..=59 => {
            let device = w.rng.below(DEVICES as u64) as usize;
            sync(w, device).map(|_| ())
        }
        60..=74 => console_act(w),
        75..=82 => {
            let actor = w.rng.below(CONSOLE as u64 + 1) as usize;
            let mut net = w.net.lock().unwrap();
            net.partitioned[actor] = !net.partitioned[actor];
            Ok(())
        }
        83..=88 => {
            let device = w.rng.below(DEVICES as u64) as usize;
            w.devices[device].crash();
            Ok(())
        }
        89..=92 => {
            w.net.lock().unwrap().crash_server();
            Ok(())
        }
        _ => {
            // Phones' clocks: right, or off by up to six hours either way
            // (a day ahead would be refused by design: see rules::check_created_at).
            let device = w.rng.below(DEVICES as u64) as usize;
            w.devices[device].skew_ms = if w.rng.chance(300) { 0 } else { w.rng.between(-6 * 3_600_000, 6 * 3_600_000) };
            Ok(())
        }
    }
}

fn create_report(w: &mut World) -> Result<(), String> {
    let t = templates();
    // Residents and the grid worker report; the department does not.
    let i = w.rng.below(3) as usize;
    let photo = |rng: &mut super::rng::Rng| t.photos[rng.below(t.photos.len() as u64) as usize].clone();
    let mut photos = vec![photo(&mut w.rng)];
    if w.rng.chance(300) {
        let second = photo(&mut w.rng);
        if second.sha256 != photos[0].sha256 {
            photos.push(second);
        }
    }
    let category = CATEGORIES[w.rng.below(CATEGORIES.len() as u64) as usize].code.to_owned();
    let location = LocationInput {
        latitude: 39.91 + w.rng.below(1000) as f64 * 1e-5,
        longitude: 116.40 + w.rng.below(1000) as f64 * 1e-5,
        crs: Crs::Wgs84,
        accuracy_m: Some(8.0),
        source: LocationSource::Device,
    };
    let device = &mut w.devices[i];
    let grid_worker = device.role == Role::GridWorker;
    let draft = ReportDraft {
        category,
        note: format!("第{}条：门口堆了很多纸箱", device.created.len() + 1),
        location: Some(location),
        reporter: Reporter { role: device.reporter_role(), grid_id: grid_worker.then(|| "g-01".to_owned()) },
    };
    let fixed = grid_worker && w.rng.chance(300);
    let after = vec![photo(&mut w.rng)];
    let skew = device.skew_ms;
    let store = device.store();
    let made = clock::skewed(skew, || {
        if fixed {
            store.create_fixed_on_spot_report_from_prepared(&draft, &photos, &after)
        } else {
            store.create_report_from_prepared(&draft, &photos)
        }
    });
    let report = made.map_err(|e| format!("{} could not make a report offline: {e}", device.name))?;
    device.created.push(report);
    Ok(())
}

/// A grid worker or the department acts on a case of its task list, offline.
fn device_act(w: &mut World) -> Result<(), String> {
    let i = 2 + w.rng.below(2) as usize;
    let device = &mut w.devices[i];
    let skew = device.skew_ms;
    let tasks = clock::skewed(skew, || device.store().tasks()).map_err(|e| format!("{}: reading tasks: {e}", device.name))?;
    let workable: Vec<_> = tasks.iter().filter(|t| !t.allowed_actions.is_empty()).collect();
    let Some(task) = w.rng.pick(&workable) else { return Ok(()) };
    let actions: Vec<Action> =
        task.allowed_actions.iter().copied().filter(|a| !a.transition().needs.department && !a.transition().needs.duplicate_of).collect();
    let Some(&action) = w.rng.pick(&actions) else { return Ok(()) };
    let needs = action.transition().needs;
    let t = templates();
    let original = t.originals[w.rng.below(t.originals.len() as u64) as usize].clone();
    let request = TaskAction {
        action,
        note: needs.note.then(|| "已处理".to_owned()),
        public_note: None,
        due_at: needs.due_at.then(|| clock::skewed(skew, || (clock::now() + chrono::Duration::days(3)).to_rfc3339())),
        photos: if needs.photos { vec![PhotoSource::Bytes(original)] } else { Vec::new() },
    };
    match clock::skewed(skew, || device.store().act(&task.id, &request)) {
        Ok(_) => Ok(()),
        // The device's own judgement: nothing is queued.
        Err(Error::ActionNotAllowed { .. } | Error::NotYourAction { .. } | Error::InvalidInput(_)) => Ok(()),
        Err(e) => Err(format!("{} could not act on {} offline: {e}", w.devices[i].name, task.id)),
    }
}

/// A device's sync over the rough network; sometimes the device is killed
/// partway (after a few requests nothing more leaves, and its memory goes).
pub fn sync(w: &mut World, i: usize) -> Result<Option<SyncSummary>, String> {
    if w.rng.chance(100) {
        w.net.lock().unwrap().crash_in[i] = Some(w.rng.below(8) as u32);
    }
    let transport = SimTransport { net: &w.net, actor: i, token: w.devices[i].token.clone() };
    let device = &mut w.devices[i];
    let skew = device.skew_ms;
    let store = device.store();
    let ran = clock::skewed(skew, || store.sync_over(&transport, Trigger::User, &|_: u64, _: u64| {}));
    let killed = {
        let mut net = w.net.lock().unwrap();
        net.crash_in[i] = None;
        std::mem::take(&mut net.dead[i])
    };
    if killed {
        device.crash();
    }
    match ran {
        Ok(summary) => Ok(Some(summary)),
        Err(Error::SyncIncomplete { .. }) => Ok(None),
        Err(e) => Err(format!("{}'s sync failed outside the protocol: {e}", device.name)),
    }
}

/// The coordinator takes an action on a case from the console, resending
/// the same action a few times while no answer comes back.
fn console_act(w: &mut World) -> Result<(), String> {
    let token = w.coordinator_token.clone();
    let answer = w.net.lock().unwrap().look(&token, "/v1/reports?limit=500");
    let list: serde_json::Value = serde_json::from_slice(&answer.body).map_err(|e| format!("the console's case list: {e}"))?;
    let reports = list["reports"].as_array().cloned().unwrap_or_default();
    let workable: Vec<&serde_json::Value> =
        reports.iter().filter(|r| r["allowed_actions"].as_array().is_some_and(|a| !a.is_empty())).collect();
    let Some(report) = w.rng.pick(&workable) else { return Ok(()) };
    let id = report["id"].as_str().unwrap_or_default().to_owned();
    let allowed: Vec<Action> = report["allowed_actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().and_then(|a| Action::from_code(a).ok()))
        .collect();
    let Some(&action) = w.rng.pick(&allowed) else { return Ok(()) };
    let needs = action.transition().needs;
    let other = reports.iter().filter_map(|r| r["id"].as_str()).find(|other| *other != id).map(str::to_owned);
    if needs.duplicate_of && other.is_none() {
        return Ok(());
    }
    let request = ActionRequest {
        action_id: uuid::Uuid::now_v7().hyphenated().to_string(),
        action,
        note: needs.note.then(|| "请尽快处理".to_owned()),
        public_note: None,
        department: needs.department.then(|| "城管".to_owned()),
        due_at: needs.due_at.then(|| (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339()),
        duplicate_of: needs.duplicate_of.then_some(other).flatten(),
        photos: Vec::new(),
    };
    let transport = SimTransport { net: &w.net, actor: CONSOLE, token };
    for _ in 0..3 {
        match transport.act(&id, &request) {
            Ok(ActOutcome::Taken(_)) => {
                w.console.acknowledged.push(request.action_id);
                return Ok(());
            }
            Ok(ActOutcome::Refused { error, message, .. }) => {
                w.console.refused.push((request.action_id, format!("{error}: {message}")));
                return Ok(());
            }
            Ok(ActOutcome::MissingPhotos(_)) => return Err(format!("the console's {action} on {id} asks for photos")),
            Err(_) => continue,
        }
    }
    Ok(())
}
