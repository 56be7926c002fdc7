#!/usr/bin/env python3
"""Checks the generated Swift bindings as far as can be done without a Swift
compiler (there is none on Linux here):

1. suishoupai.swift, suishoupaiFFI.h and suishoupaiFFI.modulemap exist, and
   the module map names the header.
2. The header declares exactly the uniffi functions the library exports
   (`nm -D libsuishoupai.so`), and every FFI function the Swift source calls
   is declared in the header.
3. The header is valid C: a program generated from the Swift source's own
   checks (contract version, one checksum per API function) includes it,
   links against the library and runs; the checksums the Swift code will
   compare at load time match the library's.
4. The Swift source declares the public API an app uses.

Usage: check_swift.py SWIFT_DIR LIBRARY
Prints one line per check and "swift: N passed, N failed"; exits 1 on failure.
"""

import os
import pathlib
import re
import subprocess
import sys
import tempfile

swift_dir = pathlib.Path(sys.argv[1])
library = pathlib.Path(sys.argv[2]).resolve()
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("ok   " if ok else "FAIL ") + name + ("" if ok or not detail else f": {detail}"))


source_path = swift_dir / "suishoupai.swift"
header_path = swift_dir / "suishoupaiFFI.h"
modulemap_path = swift_dir / "suishoupaiFFI.modulemap"
for path in (source_path, header_path, modulemap_path):
    check(f"{path.name} exists", path.is_file() and path.stat().st_size > 0)
if not all(results):
    print(f"swift: {sum(results)} passed, {len(results) - sum(results)} failed")
    sys.exit(1)

source = source_path.read_text()
header = header_path.read_text()
modulemap = modulemap_path.read_text()

check("module map: module suishoupaiFFI with its header",
      re.search(r"module\s+suishoupaiFFI\s*\{", modulemap) is not None and 'header "suishoupaiFFI.h"' in modulemap, modulemap)
check("swift source imports the FFI module", re.search(r"import\s+suishoupaiFFI", source) is not None)

# 2. Symbols: library <-> header <-> Swift source.
nm = subprocess.run(["nm", "-D", "--defined-only", str(library)], check=True, capture_output=True, text=True).stdout
exported = {line.split()[-1] for line in nm.splitlines() if re.search(r"\s(uniffi|ffi)_suishoupai_\w+$", line)}
declared = set(re.findall(r"\b((?:uniffi|ffi)_suishoupai_\w+)\s*\(", header))
used = set(re.findall(r"\b((?:uniffi|ffi)_suishoupai_\w+)\s*\(", source))
check(f"library exports uniffi symbols ({len(exported)})", len(exported) > 50)
check("every exported uniffi symbol is declared in the header", exported <= declared, sorted(exported - declared)[:10])
check("every function the header declares is exported by the library", declared <= exported, sorted(declared - exported)[:10])
check("every FFI function the Swift source calls is declared in the header", used <= declared, sorted(used - declared)[:10])

# 3. Compile and run a C program that includes the header and repeats the
# Swift source's load-time checks against the real library.
contract = re.search(r"let bindings_contract_version = (\d+)", source)
checksums = re.findall(r"if \((uniffi_suishoupai_checksum_\w+)\(\) != (\d+)\)", source)
check("swift source checks the contract version", contract is not None)
check(f"swift source checks API checksums ({len(checksums)})", len(checksums) >= 15)
exported_checksums = {s for s in exported if "_checksum_" in s}
check("swift checks every checksum the library exports", {c for c, _ in checksums} == exported_checksums,
      sorted(exported_checksums ^ {c for c, _ in checksums})[:10])
lines = ["#include <stdio.h>", '#include "suishoupaiFFI.h"', "int main(void) {", "  int bad = 0;"]
if contract:
    lines.append(f'  if (ffi_suishoupai_uniffi_contract_version() != {contract.group(1)}u) {{ puts("contract version differs"); bad++; }}')
for name, value in checksums:
    lines.append(f'  if ({name}() != {value}) {{ puts("{name} differs"); bad++; }}')
lines += ["  return bad;", "}"]
with tempfile.TemporaryDirectory() as tmp:
    c_file = pathlib.Path(tmp) / "check.c"
    c_file.write_text("\n".join(lines) + "\n")
    exe = pathlib.Path(tmp) / "check"
    cc = subprocess.run(
        # The header is written for clang: gcc needs its nullability
        # annotations spelled away.
        ["cc", "-std=c11", "-Wall", "-Werror", "-D_Nonnull=", "-D_Nullable=", "-I", str(swift_dir), str(c_file), "-o", str(exe),
         "-L", str(library.parent), "-l:" + library.name, "-Wl,-rpath," + str(library.parent)],
        capture_output=True, text=True)
    check("header compiles as C and links against the library", cc.returncode == 0, cc.stderr[-2000:])
    if cc.returncode == 0:
        run = subprocess.run([str(exe)], capture_output=True, text=True)
        check("contract version and checksums in the Swift source match the library", run.returncode == 0, run.stdout[-2000:])

# 4. The public API an app uses, as the Swift source spells it. Comments
# and layout are dropped first: the generator's spacing is not the API.
code = re.sub(r"/\*[\s\S]*?\*/", " ", source)
code = re.sub(r"//[^\n]*", " ", code)
code = re.sub(r"\s+", " ", code)
code = re.sub(r" ?([(),:\[\]{}?=]|->) ?", r"\1", code)
api = {
    "class Store": r"open class Store:",
    "Store(dataDir:)": r"public convenience init\(dataDir:String\)throws",
    "createReport(draft:)": r"func createReport\(draft:ReportDraft\)throws->Report",
    "createReportFromBytes(draft:photos:)": r"func createReportFromBytes\(draft:ReportDraft,photos:\[Data\]\)throws->Report",
    "listReports(limit:cursor:)": r"func listReports\(limit:UInt32\?=nil,cursor:String\?=nil\)throws->ReportPage",
    "taskPage(limit:cursor:)": r"func taskPage\(limit:UInt32\?=nil,cursor:String\?=nil\)throws->TaskPage",
    "struct ReportPage": r"public struct ReportPage\b.*?public var nextCursor:String\?",
    "getReport(id:)": r"func getReport\(id:String\)throws->Report",
    "categories(locale:)": r"func categories\(locale:Locale\)->\[Category\]",
    "thumbnailPath(sha256:)": r"func thumbnailPath\(sha256:String\)throws->String",
    "thumbnailBytes(sha256:)": r"func thumbnailBytes\(sha256:String\)throws->Data",
    "photoBytes(sha256:)": r"func photoBytes\(sha256:String\)throws->Data",
    "Store.openEncrypted(dataDir:key:)": r"static func openEncrypted\(dataDir:String,key:Data\)throws->Store",
    "recoverStore(dataDir:)": r"public func recoverStore\(dataDir:String\)throws->RecoveryReport",
    "recoverEncryptedStore(dataDir:key:)": r"public func recoverEncryptedStore\(dataDir:String,key:Data\)throws->RecoveryReport",
    "struct RecoveryReport": r"public struct RecoveryReport\b.*?public var rowsLost:Bool",
    "login(serverUrl:token:)": r"func login\(serverUrl:String,token:String\)throws",
    "sync(observer:)": r"func sync\(observer:SyncObserver\?=nil\)throws->SyncSummary",
    "syncAsync(observer:) async": r"func syncAsync\(observer:SyncObserver\?=nil\)async throws->SyncSummary",
    "setOnline(online:)": r"func setOnline\(online:Bool\)",
    "retryFailed()": r"func retryFailed\(\)throws->UInt64",
    "convertCoordinates(...)": r"public func convertCoordinates\(latitude:Double,longitude:Double,from:Crs,to:Crs\)throws->Coordinates",
    "protocol SyncObserver": r"public protocol SyncObserver:[^{]*\{[^}]*func onProgress\(done:UInt64,total:UInt64\)",
    "struct ReportDraft": r"public struct ReportDraft\b",
    "ReportDraft.init defaults": r'public init\(category:String,photoPaths:\[String\]=\[\],note:String="",deviceLocation:DeviceLocation\?=nil,pin:ManualPin\?=nil,role:ReporterRole\?=nil,gridId:String\?=nil,allowWithoutLocation:Bool=false,fixedOnSpot:Bool=false,afterPhotoPaths:\[String\]=\[\]\)',
    "tasks()": r"func tasks\(\)throws->\[Task\]",
    "task(id:)": r"func task\(id:String\)throws->TaskDetail",
    "act(reportId:action:)": r"func act\(reportId:String,action:TaskAction\)throws->OwnAction",
    "me()": r"func me\(\)throws->Me\?",
    "struct Task": r"public struct Task\b.*?public var allowedActions:\[Action\]",
    "struct TaskDetail": r"public struct TaskDetail\b.*?public var actions:\[OwnAction\]",
    "struct OwnAction": r"public struct OwnAction\b.*?public var syncError:String\?",
    "TaskAction.init defaults": r'public init\(action:Action,note:String\?=nil,publicNote:String\?=nil,dueAt:String\?=nil,photoPaths:\[String\]=\[\],photos:\[Data\]=\[\]\)',
    "enum Action": r"public enum Action\b.*?case rectify .*?case verify .*?case reopen",
    "enum Role": r"public enum Role\b.*?case gridWorker",
    "struct DeviceLocation": r"public struct DeviceLocation\b.*?public var accuracyM:Double\?",
    "struct ManualPin": r"public struct ManualPin\b",
    "struct Report": r"public struct Report\b.*?public var syncState:SyncState",
    "struct ReportLocation": r"public struct ReportLocation\b.*?public var source:LocationSource",
    "struct Photo": r"public struct Photo\b.*?public var sha256:String",
    "struct SyncSummary": r"public struct SyncSummary\b.*?public var skippedBytes:UInt64",
    "struct Category": r"public struct Category\b",
    "struct Coordinates": r"public struct Coordinates\b",
    "enum Crs": r"public enum Crs\b.*?case wgs84 .*?case gcj02 .*?case bd09",
    "enum LocationSource": r"public enum LocationSource\b.*?case exif .*?case device .*?case manual",
    "enum SyncState": r"public enum SyncState\b.*?case pending .*?case synced .*?case failed",
    "enum ReportStatus": r"public enum ReportStatus\b.*?case dispatched",
    "enum Locale": r"public enum Locale\b.*?case zhCn .*?case en",
    "enum SuishoupaiError: Error": r"public enum SuishoupaiError:Swift\.Error\b",
}
for name, pattern in api.items():
    check(f"swift API: {name}", re.search(pattern, code) is not None)
for variant in ["BadPhoto", "TooLarge", "NoLocation", "InvalidInput", "NotFound", "NotLoggedIn", "Cancelled", "StorageFull", "Storage", "WrongKey", "CorruptStore", "EncryptionMismatch", "Internal"]:
    check(f"swift error case {variant}(reason:)", f"case {variant}(reason:String)" in code)
# The variants of a sync that ended with work left carry what the app
# chooses a screen by, and the run's summary.
for variant, fields in [
    ("TokenRefused", "reason:String,summary:SyncSummary"),
    ("Network", "reason:String,summary:SyncSummary"),
    ("ServerUnavailable", "status:UInt16,reason:String,summary:SyncSummary"),
    ("ReportsRefused", "count:UInt64,reason:String,summary:SyncSummary"),
    ("ServerRefused", "status:UInt16,reason:String,summary:SyncSummary"),
    ("RetryLater", "count:UInt64,reason:String,summary:SyncSummary"),
]:
    check(f"swift error case {variant}({fields})", f"case {variant}({fields})" in code)
check("swift error case ActionNotAllowed(reason:status:allowedActions:)",
      "case ActionNotAllowed(reason:String,status:ReportStatus,allowedActions:[Action])" in code)
check("swift SyncListener protocol", re.search(r"public protocol SyncListener\b.*?func onSyncFinished\(summary:SyncSummary,error:SuishoupaiError\?\)", code) is not None)
check("swift SyncSummary has pending and failed", re.search(r"public struct SyncSummary\b.*?public var pending:UInt64.*?public var failed:UInt64", code) is not None)

passed = sum(results)
print(f"swift: {passed} passed, {len(results) - passed} failed")
sys.exit(0 if passed == len(results) else 1)
