// The generated Kotlin bindings against the real libsuishoupai, as an
// Android app would call them (minus Android). Run by bindings/tests/run.sh:
//   java -Djna.library.path=DIR -cp ... MainKt PHOTOS_DIR BAD_DIR [SERVER_URL TOKEN]
// Exits non-zero if any check fails.

import com.sun.net.httpserver.HttpServer
import java.io.File
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.nio.file.Files
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.runBlocking
import uniffi.suishoupai.*

var passed = 0
var failed = 0

fun check(name: String, ok: Boolean, detail: () -> String = { "" }) {
    if (ok) {
        passed++
        println("ok   $name")
    } else {
        failed++
        println("FAIL $name ${detail()}")
    }
}

inline fun <reified E : Throwable> expectError(name: String, block: () -> Unit) {
    try {
        block()
        check(name, false) { "no error thrown" }
    } catch (e: Throwable) {
        check(name, e is E && !e.message.isNullOrBlank() && e.message!!.contains("reason=")) { "got ${e::class.qualifiedName}: ${e.message}" }
    }
}

class CountingObserver : SyncObserver {
    val calls = AtomicInteger()
    @Volatile var last: Pair<ULong, ULong>? = null
    override fun onProgress(done: ULong, total: ULong) {
        calls.incrementAndGet()
        last = done to total
    }
}

/** Remembers every background run's outcome. */
class RecordingListener : SyncListener {
    val runs = CopyOnWriteArrayList<Pair<SyncSummary, SuishoupaiException?>>()
    override fun onSyncFinished(summary: SyncSummary, error: SuishoupaiException?) {
        runs.add(summary to error)
    }
}

fun waitFor(seconds: Int, predicate: () -> Boolean): Boolean {
    val deadline = System.currentTimeMillis() + seconds * 1000L
    while (System.currentTimeMillis() < deadline) {
        if (predicate()) return true
        Thread.sleep(50)
    }
    return false
}

/** A server under maintenance: every request answers 503. */
fun unavailableServer(): HttpServer {
    val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
    server.createContext("/") { exchange ->
        exchange.requestBody.readAllBytes()
        val body = """{"error":"internal","message":"down for maintenance"}""".toByteArray()
        exchange.responseHeaders.add("Content-Type", "application/json")
        exchange.sendResponseHeaders(503, body.size.toLong())
        exchange.responseBody.use { it.write(body) }
    }
    server.start()
    return server
}

/** Each way a sync ends with work left is its own exception, with the run's summary. */
fun typedSyncErrors(photos: File, serverUrl: String, token: String) {
    val photo = File(photos, "kodak_cx7530_S_E_tiny.jpg").readBytes()
    fun freshStore(): Store {
        val store = Store(Files.createTempDirectory("suishoupai-kotlin-errors").toFile().path)
        store.createReportFromBytes(ReportDraft(category = "garbage", allowWithoutLocation = true), listOf(photo))
        return store
    }
    freshStore().use { store ->
        store.login(serverUrl, "not-a-real-token")
        try {
            store.sync(); check("a refused token is TokenRefused", false)
        } catch (e: SuishoupaiException.TokenRefused) {
            check("a refused token is TokenRefused, one report pending", e.summary.pending == 1uL) { "${e.summary}" }
        }
    }
    freshStore().use { store ->
        val port = ServerSocket(0).use { it.localPort }
        store.login("http://127.0.0.1:$port", token)
        try {
            store.sync(); check("no server is Network", false)
        } catch (e: SuishoupaiException.Network) {
            check("no server is Network, one report pending", e.summary.pending == 1uL) { "${e.summary}" }
        }
    }
    val unavailable = unavailableServer()
    freshStore().use { store ->
        store.login("http://127.0.0.1:${unavailable.address.port}", token)
        try {
            store.sync(); check("a 503 is ServerUnavailable", false)
        } catch (e: SuishoupaiException.ServerUnavailable) {
            check("a 503 is ServerUnavailable with its status", e.status == 503.toUShort() && e.summary.pending == 1uL) { "${e.status} ${e.summary}" }
        }
    }
    freshStore().use { store ->
        // A resident's device claims a grid worker's report: refused for good.
        store.createReportFromBytes(
            ReportDraft(category = "garbage", allowWithoutLocation = true, role = ReporterRole.GRID_WORKER, gridId = "G-1"), listOf(photo)
        )
        store.login(serverUrl, token)
        try {
            store.sync(); check("a refused report is ReportsRefused", false)
        } catch (e: SuishoupaiException.ReportsRefused) {
            check("a refused report is ReportsRefused, with its count", e.count == 1uL && e.summary.pushed == 1uL && e.summary.failed == 1uL) { "${e.count} ${e.summary}" }
        }
    }
    freshStore().use { store ->
        // Four failures in a row: the next try waits 8 s.
        store.login("http://127.0.0.1:${unavailable.address.port}", token)
        repeat(4) { try { store.sync() } catch (e: SuishoupaiException.ServerUnavailable) {} }
        val listener = RecordingListener()
        store.setSyncListener(listener)
        store.login(serverUrl, token)
        store.setOnline(true)
        check("the background sync reports its run", waitFor(10) { listener.runs.isNotEmpty() })
        val (summary, error) = listener.runs.first()
        check("a report in its backoff is RetryLater", error is SuishoupaiException.RetryLater && summary.pending == 1uL) { "$error $summary" }
        check("the background sync reports success once it went", waitFor(30) { listener.runs.any { it.second == null && it.first.pushed == 1uL } }) { "${listener.runs}" }
        store.setOnline(false)
        store.setSyncListener(null)
    }
    unavailable.stop(0)
}

/** A stand-in for the server's task calls: one dispatched case of the grid worker's grid. */
fun tasksServer(caseId: String, actions: CopyOnWriteArrayList<String>): HttpServer {
    val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
    fun answer(exchange: com.sun.net.httpserver.HttpExchange, status: Int, body: String) {
        val bytes = body.toByteArray()
        exchange.responseHeaders.add("Content-Type", "application/json")
        exchange.sendResponseHeaders(status, bytes.size.toLong())
        exchange.responseBody.use { it.write(bytes) }
    }
    server.createContext("/") { exchange ->
        val body = String(exchange.requestBody.readAllBytes())
        val path = exchange.requestURI.path
        when {
            path == "/v1/tasks" -> answer(exchange, 200, """{"me": {"name": "李", "role": "grid_worker", "grid_id": "G-7"}, "tasks": [
                {"id": "$caseId", "category": "garbage", "note": "", "location": null, "photos": [], "created_at": "2026-12-01T08:00:00.000Z",
                 "status": "dispatched", "grid_id": "G-7", "department": "cg", "due_at": "2020-01-01T00:00:00Z", "overdue": true,
                 "allowed_actions": ["rectify"], "history": []}]}""")
            path == "/v1/changes" -> answer(exchange, 200, """{"changes": [], "next_cursor": null, "has_more": false}""")
            path == "/v1/uploads/batch" -> {
                val sha = Regex("\"sha256\":\"([0-9a-f]{64})\",\"length\":(\\d+)").find(body)!!
                answer(exchange, 200, """{"uploads": [{"sha256": "${sha.groupValues[1]}", "offset": ${sha.groupValues[2]}, "length": ${sha.groupValues[2]}, "complete": true}]}""")
            }
            path == "/v1/reports/$caseId/actions" -> {
                actions.add(body)
                answer(exchange, 409, """{"error": "invalid_transition", "message": "the case is `closed` (verify by 王 at 14:02)", "status": "closed", "allowed_actions": ["reopen"]}""")
            }
            else -> answer(exchange, 404, """{"error": "not_found", "message": "no such route"}""")
        }
    }
    server.start()
    return server
}

/** Cases worked offline: judged here, queued, refused by the server with its reason. */
fun tasksOffline(photos: File) {
    val caseId = "01936f3e-1c2d-7a8b-9c0d-112233445566"
    Store(Files.createTempDirectory("suishoupai-kotlin-tasks").toFile().path).use { store ->
        check("no tasks before a sync", store.tasks().isEmpty() && store.me() == null)
        expectError<SuishoupaiException.NotFound>("acting on an unknown case is NotFound") {
            store.act(caseId, TaskAction(action = Action.VERIFY))
        }
        val actions = CopyOnWriteArrayList<String>()
        val server = tasksServer(caseId, actions)
        store.login("http://127.0.0.1:${server.address.port}", "t0k")
        val summary = store.sync()
        val tasks = store.tasks()
        check("sync brings the task list", summary.tasks == 1uL && tasks.size == 1 && tasks[0].allowedActions == listOf(Action.RECTIFY)) { "$summary $tasks" }
        check("overdue by the device's clock", tasks[0].overdue && tasks[0].status == ReportStatus.DISPATCHED)
        try {
            store.act(caseId, TaskAction(action = Action.VERIFY))
            check("verify of a dispatched case is refused", false)
        } catch (e: SuishoupaiException.ActionNotAllowed) {
            check("verify of a dispatched case is ActionNotAllowed, with what is allowed", e.status == ReportStatus.DISPATCHED && e.allowedActions == listOf(Action.RECTIFY)) { "$e" }
        }
        val taken = store.act(caseId, TaskAction(action = Action.RECTIFY, note = "已清理", photos = listOf(File(photos, "no_exif.jpg").readBytes())))
        check("act queues offline", taken.syncState == SyncState.PENDING && store.pendingActionCount() == 1uL && actions.isEmpty())
        check("the case as the device knows it", store.task(caseId).task.status == ReportStatus.RECTIFIED)
        store.sync()
        val mine = store.task(caseId).actions.single()
        check("the server's refusal is kept with its reason", mine.syncState == SyncState.FAILED && mine.syncError!!.contains("王") && actions.size == 1) { "$mine" }
        check("the case is as the server's feed says, with nothing pending", store.task(caseId).task.let { it.status == ReportStatus.DISPATCHED && it.pendingActions == 0u })
        server.stop(0)
    }
}

fun main(args: Array<String>) {
    val photos = File(args[0])
    val bad = File(args[1])
    val dataDir = Files.createTempDirectory("suishoupai-kotlin").toFile()

    Store(dataDir.path).use { store ->
        // Capture: a photo file plus the phone's fix from the AMap SDK (GCJ-02).
        val gcj = convertCoordinates(39.915, 116.404, Crs.WGS84, Crs.GCJ02)
        check("convert WGS84 -> GCJ02", Math.abs(gcj.latitude - 39.91640428150164) < 1e-9 && Math.abs(gcj.longitude - 116.41024449916938) < 1e-9) { "$gcj" }
        val bd = convertCoordinates(gcj.latitude, gcj.longitude, Crs.GCJ02, Crs.BD09)
        val back = convertCoordinates(bd.latitude, bd.longitude, Crs.BD09, Crs.WGS84)
        check("convert BD09 -> WGS84 round trip", Math.abs(back.latitude - 39.915) < 1e-9 && Math.abs(back.longitude - 116.404) < 1e-9) { "$back" }

        val report = store.createReport(
            ReportDraft(
                category = "flying_wire_charging",
                photoPaths = listOf(File(photos, "google_pixel_N_E.jpg").path),
                note = "楼道飞线充电",
                deviceLocation = DeviceLocation(gcj.latitude, gcj.longitude, 12.0, Crs.GCJ02),
            )
        )
        check("capture: id", report.id.length == 36) { report.id }
        check("capture: device location stored as WGS84",
            report.location?.source == LocationSource.DEVICE &&
                Math.abs(report.location!!.latitude - 39.915) < 1e-7 && report.location!!.accuracyM == 12.0) { "${report.location}" }
        check("capture: one photo", report.photos.size == 1 && report.photos[0].sha256.length == 64 && report.photos[0].bytes > 0uL) { "${report.photos}" }
        check("capture: pending, submitted", report.syncState == SyncState.PENDING && report.status == ReportStatus.SUBMITTED && report.syncError == null)

        // A camera buffer, with a pin the user placed on a Baidu map.
        val jpeg = File(photos, "no_exif.jpg").readBytes()
        val pinned = store.createReportFromBytes(
            ReportDraft(category = "garbage", pin = ManualPin(bd.latitude, bd.longitude, Crs.BD09)), listOf(jpeg)
        )
        check("bytes + manual pin", pinned.location?.source == LocationSource.MANUAL && Math.abs(pinned.location!!.longitude - 116.404) < 1e-7) { "${pinned.location}" }

        // List and get.
        val listed = store.listReports().reports
        val paged = store.listReports(limit = 1u)
        check("a page of one", paged.reports.map { it.id } == listOf(pinned.id) && paged.nextCursor != null)
        check("the next page", store.listReports(1u, paged.nextCursor).let { it.reports.map { r -> r.id } == listOf(report.id) && it.nextCursor == null })
        check("list newest first", listed.map { it.id } == listOf(pinned.id, report.id)) { "${listed.map { it.id }}" }
        check("get", store.getReport(report.id) == report)
        check("counts", store.reportCount() == 2uL && store.pendingCount() == 2uL)
        check("thumbnail file", File(store.thumbnailPath(report.photos[0].sha256)).isFile)
        check("thumbnail bytes", store.thumbnailBytes(report.photos[0].sha256).take(2) == listOf(0xFF.toByte(), 0xD8.toByte()))

        // Categories.
        val zh = store.categories(Locale.ZH_CN)
        val en = store.categories(Locale.EN)
        check("categories", zh.size == 12 && zh.first { it.code == "garbage" }.name == "垃圾" && en.first { it.code == "garbage" }.name == "Rubbish") { "$zh" }

        // Errors: typed, with a message to show, nothing stored.
        expectError<SuishoupaiException.BadPhoto>("truncated photo is BadPhoto") {
            store.createReport(ReportDraft(category = "garbage", photoPaths = listOf(File(bad, "truncated_in_scan.jpg").path)))
        }
        expectError<SuishoupaiException.TooLarge>("decompression bomb is TooLarge") {
            store.createReport(ReportDraft(category = "garbage", photoPaths = listOf(File(bad, "bomb_60000x60000.jpg").path)))
        }
        expectError<SuishoupaiException.BadPhoto>("empty buffer is BadPhoto") {
            store.createReportFromBytes(ReportDraft(category = "garbage", allowWithoutLocation = true), listOf(ByteArray(0)))
        }
        expectError<SuishoupaiException.NoLocation>("no location is NoLocation") {
            store.createReportFromBytes(ReportDraft(category = "garbage"), listOf(jpeg))
        }
        expectError<SuishoupaiException.InvalidInput>("unknown category is InvalidInput") {
            store.createReportFromBytes(ReportDraft(category = "nope", allowWithoutLocation = true), listOf(jpeg))
        }
        expectError<SuishoupaiException.NotFound>("unknown report is NotFound") {
            store.getReport("01890a5d-ac96-774b-bcce-b302099a8057")
        }
        expectError<SuishoupaiException.NotLoggedIn>("sync before login is NotLoggedIn") { store.sync() }
        check("errors stored nothing", store.reportCount() == 2uL)

        // Sync against the real server, blocking and as a suspend function.
        if (args.size >= 4) {
            store.login(args[2], args[3])
            val observer = CountingObserver()
            val summary = store.sync(observer)
            check("sync pushes both", summary.pushed == 2uL && summary.uploadedBytes > 0uL) { "$summary" }
            check("observer heard progress", observer.calls.get() >= 2 && observer.last == (2uL to 2uL)) { "${observer.last}" }
            check("synced", store.listReports().reports.all { it.syncState == SyncState.SYNCED })
            store.createReportFromBytes(ReportDraft(category = "garbage", allowWithoutLocation = true), listOf(File(photos, "kodak_cx7530_S_E_tiny.jpg").readBytes()))
            val asyncSummary = runBlocking { store.syncAsync() }
            check("syncAsync pushes the new one", asyncSummary.pushed == 1uL) { "$asyncSummary" }
            check("nothing pending", store.pendingCount() == 0uL)
            typedSyncErrors(photos, args[2], args[3])
        } else {
            println("skip sync checks (no server given)")
        }
    }
    dataDir.deleteRecursively()
    tasksOffline(photos)

    println("kotlin: $passed passed, $failed failed")
    if (failed > 0) System.exit(1)
}
