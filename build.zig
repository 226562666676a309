//! ringpub build: `zig build` (library, tools), `zig build test` (all
//! Criterion tests; also ASan+UBSan and TSan variants unless
//! -Dsanitizers=false), `zig build bench` (a short ringbench run).
//!
//! Zig 0.14.1 ships UBSan and TSan runtimes but no ASan runtime, so the
//! ASan+UBSan variant is compiled by the system gcc from the same sources.
const std = @import("std");

// ---- options and sources -------------------------------------------------

const c_flags = [_][]const u8{ "-std=c17", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE" };
const cxx_flags = [_][]const u8{ "-std=c++17", "-Wall", "-Wextra", "-Werror" };

const ring_sources = [_][]const u8{
    "ring/consumer.c",
    "ring/recover.c",
    "ring/wait.c",
    "ring/stats.c",
    "ring/quarantine.c",
    "ring/pin.c",
    "ring/guard.c",
    "ring/peek.c",
};

/// libringpub: ring_sources as one translation unit (ring/ringpub.c), its
/// internal functions static, so it exports the public API only.
const lib_sources = [_][]const u8{"ring/ringpub.c"};

/// ringbench (bench/), apart from its main.c.
const bench_sources = [_][]const u8{ "bench/main.c", "bench/hist.c", "bench/backend.c", "bench/run.c", "bench/report.c", "bench/e2e.c", "publisher/shared/cli.c" };

/// What the tools share with the daemon (publisher/shared/): the wire rules
/// (signature, body framing, compression, NATS connection) and small
/// utilities (buffers, sizes and durations, command-line helpers).
const shared_sources = [_][]const u8{
    "publisher/shared/units.c",
    "publisher/shared/buf.c",
    "publisher/shared/sign.c",
    "publisher/shared/codec.c",
    "publisher/shared/cli.c",
    "publisher/shared/natsconn.c",
    "publisher/shared/body.c",
    "publisher/shared/mfile.c",
};
/// The daemon's parts that tests use without the loop, and the shared ones.
const pub_sources = shared_sources ++ [_][]const u8{
    "publisher/ini.c",
    "publisher/config.c",
    "publisher/batch.c",
    "publisher/process.c",
};
/// The daemon's own parts (need the ring library too).
const daemon_sources = [_][]const u8{
    "publisher/loop.c",
    "publisher/http.c",
    "publisher/spool.c",
    "publisher/metrics.c",
    "publisher/mserve.c",
    "publisher/log.c",
    "publisher/ledger.c",
    "publisher/drain.c",
    "publisher/send.c",
    "publisher/jsonl.c",
    "publisher/errstream.c",
    "publisher/paths.c",
    "publisher/split.c",
    "publisher/redeliver.c",
    "publisher/sinks/registry.c",
    "publisher/sinks/later.c",
    "publisher/sinks/http.c",
    "publisher/sinks/eventgate.c",
    "publisher/sinks/file.c",
    "publisher/sinks/jetstream.c",
    "publisher/eventgate.c",
    "publisher/jetstream.c",
    "publisher/lane.c",
    "publisher/mapfile.c",
    "publisher/seals.c",
    "publisher/contain.c",
    "publisher/supervise.c",
    "publisher/daemon.c",
};
const pub_libs = [_][]const u8{ "sodium", "crypto", "zstd", "deflate", "z", "curl", "uring", "nats", "jansson", "m" };

/// Where each kind of code may include from. A tool sees the public headers
/// and publisher/shared, never the daemon's internals (publisher/) nor the
/// ring's (ring/); its own folder's headers it finds next to it.
const Dirs = enum { lib, daemon, tool, all };
fn includeDirs(d: Dirs) []const []const u8 {
    return switch (d) {
        .lib => &.{ "include", "ring" },
        .daemon => &.{ "include", "publisher", "publisher/shared" },
        .tool => &.{ "include", "publisher/shared" },
        .all => &.{ "include", "ring", "publisher", "publisher/shared", "tools/collect", "bench" },
    };
}

/// The reference collector (tools/collect/), on libmicrohttpd and jansson.
const collect_sources = [_][]const u8{
    "tools/collect/outdir.c",
    "tools/collect/dedup.c",
    "tools/collect/store.c",
    "tools/collect/jsonscan.c",
    "tools/collect/server.c",
    "tools/collect/forward.c",
    "tools/collect/v1events.c",
};
const collect_libs = [_][]const u8{"microhttpd"};

/// libFuzzer targets: tests/fuzz/NAME.c.
const fuzz_targets = [_][]const u8{ "fuzz_ring", "fuzz_ini", "fuzz_spool", "fuzz_collect", "fuzz_jsonscan" };

/// One Criterion executable per feature. `threads` marks the concurrency
/// tests, which also run under ThreadSanitizer; `publisher` tests link the
/// daemon's parts.
/// `e2e` tests run the installed binaries (ringpub, ringcollect).
/// `extra` sources are compiled into the test as well, `libs` linked.
const TestSpec = struct { name: []const u8, threads: bool = false, publisher: bool = false, collector: bool = false, e2e: bool = false, extra: []const []const u8 = &.{}, libs: []const []const u8 = &.{} };
const tests = [_]TestSpec{
    .{ .name = "put_drain" },
    .{ .name = "threads", .threads = true },
    .{ .name = "producer_processes", .threads = true },
    .{ .name = "crash", .threads = true },
    .{ .name = "stall", .threads = true },
    .{ .name = "pin", .threads = true },
    .{ .name = "space" },
    .{ .name = "corrupt" },
    .{ .name = "open", .threads = true },
    .{ .name = "config", .publisher = true },
    .{ .name = "wire", .publisher = true },
    .{ .name = "collect", .publisher = true, .collector = true },
    .{ .name = "e2e", .e2e = true, .extra = &.{"tests/rig.c"} },
    .{ .name = "retry", .e2e = true, .extra = &.{"tests/rig.c"} },
    .{ .name = "refusals", .e2e = true, .extra = &.{"tests/rig.c"} },
    .{ .name = "error_stream", .e2e = true, .extra = &.{"tests/rig.c"} },
    .{ .name = "sinks", .e2e = true, .extra = &.{"tests/rig.c"} },
    .{ .name = "processors", .publisher = true },
    .{ .name = "event", .threads = true, .libs = &.{"jansson"} },
    .{ .name = "ctl", .e2e = true, .extra = &.{"tests/rig.c"} },
    .{ .name = "jetstream", .e2e = true, .extra = &.{"tests/rig.c"} },
    .{ .name = "route", .e2e = true, .extra = &.{"tests/rig.c"} },
    .{ .name = "readme", .e2e = true, .extra = &.{"tests/rig.c"} },
    .{ .name = "contain", .publisher = true },
    .{ .name = "seals", .publisher = true },
    .{ .name = "ledger", .publisher = true },
    .{ .name = "holes", .e2e = true, .extra = &.{"tests/rig.c"} },
    .{ .name = "supervise", .e2e = true, .extra = &.{"tests/rig.c"} },
    .{ .name = "users", .e2e = true, .extra = &.{"tests/rig.c"} },
    .{ .name = "metrics", .e2e = true, .extra = &.{"tests/rig.c"} },
    .{ .name = "bench", .e2e = true, .extra = &.{"bench/hist.c"}, .libs = &.{"jansson"} },
};

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const sanitizers = b.option(bool, "sanitizers", "Also run the tests under ASan+UBSan (gcc) and TSan (default: true)") orelse true;
    const only = b.option([]const u8, "only", "Run only the test suite with this name (e.g. -Donly=corrupt)");

    // ---- the consumer library ---------------------------------------------
    const lib = b.addLibrary(.{ .name = "ringpub", .root_module = cModule(b, target, optimize, false, .lib) });
    lib.root_module.addCSourceFiles(.{ .files = &lib_sources, .flags = &c_flags });
    b.installArtifact(lib);
    b.installDirectory(.{ .source_dir = b.path("include"), .install_dir = .header, .install_subdir = "" });
    installSystemFiles(b);

    // ---- the daemon -----------------------------------------------------------
    const daemon = b.addExecutable(.{ .name = "ringpub", .root_module = cModule(b, target, optimize, false, .daemon) });
    daemon.root_module.linkLibrary(lib);
    addPublisher(daemon.root_module);
    daemon.root_module.addCSourceFiles(.{ .files = &.{"publisher/main.c"}, .flags = &c_flags });
    b.installArtifact(daemon);

    // ---- tools ----------------------------------------------------------------
    const collect = b.addExecutable(.{ .name = "ringcollect", .root_module = cModule(b, target, optimize, false, .tool) });
    addCollector(collect.root_module);
    collect.root_module.addCSourceFiles(.{ .files = &.{"tools/collect/main.c"}, .flags = &c_flags });
    b.installArtifact(collect);
    const ctl = b.addExecutable(.{ .name = "ringctl", .root_module = cModule(b, target, optimize, false, .tool) });
    ctl.root_module.linkLibrary(lib);
    ctl.root_module.addCSourceFiles(.{ .files = &.{ "tools/ctl/main.c", "tools/ctl/load.c", "tools/ctl/views.c", "tools/ctl/admin.c", "publisher/shared/cli.c", "publisher/shared/units.c", "publisher/shared/mfile.c" }, .flags = &c_flags });
    b.installArtifact(ctl);

    // man pages, made by tools/man from each binary's own --help (and the
    // daemon's config and metric tables): they cannot disagree with it
    for ([_]struct { *std.Build.Step.Compile, []const u8 }{ .{ daemon, "8" }, .{ collect, "1" }, .{ ctl, "1" } }) |page| installMan(b, page[0], page[1]);
    const ringjs = b.addExecutable(.{ .name = "ringjs", .root_module = cModule(b, target, optimize, false, .tool) });
    ringjs.root_module.addCSourceFiles(.{ .files = &.{ "tools/jetstream/main.c", "tools/jetstream/stream.c", "tools/jetstream/dump.c" }, .flags = &c_flags });
    addShared(ringjs.root_module);
    b.installArtifact(ringjs);
    installMan(b, ringjs, "1");

    // the Python wheel (abi3, manylinux2014) and sdist, into zig-out/python
    const wheel = b.addSystemCommand(&.{ "tools/python-wheel", b.getInstallPath(.prefix, "python") });
    wheel.has_side_effects = true;
    b.step("python", "Build the Python wheel and sdist into zig-out/python (tools/python-wheel)").dependOn(&wheel.step);

    // ---- benchmark ----------------------------------------------------------
    const ringbench = b.addExecutable(.{ .name = "ringbench", .root_module = cModule(b, target, .ReleaseFast, false, .tool) });
    // the benchmark always measures an optimised ring, whatever -Doptimize says
    const lib_fast = b.addLibrary(.{ .name = "ringpub_fast", .root_module = cModule(b, target, .ReleaseFast, false, .lib) });
    lib_fast.root_module.addCSourceFiles(.{ .files = &lib_sources, .flags = &c_flags });
    ringbench.root_module.linkLibrary(lib_fast);
    ringbench.root_module.addCSourceFiles(.{ .files = &bench_sources, .flags = &c_flags });
    b.installArtifact(ringbench);
    installMan(b, ringbench, "1");
    const bench_run = runInherit(b, ringbench);
    bench_run.addArgs(if (b.args) |args| args else &.{ "--vs", "mq,unix", "--seconds", "1" });
    b.step("bench", "A short ringbench run (ring vs POSIX mq and a Unix socket); `-- ARGS` to choose").dependOn(&bench_run.step);
    // the paired harness's ring and memcpy transports (tools/bench-peers builds
    // them with Aeron's; Aeron is fetched there, never here) and the
    // instruction counter (tools/bench-icount): built and run briefly by the
    // tests, so a change to the ring cannot break them unseen
    const bench_smoke = b.step("bench-smoke", "Build the peer harness (ring, ring per producer, memcpy, the CPU-distance probe) and bench/icount.c; run each briefly");
    for ([_]struct { []const u8, []const []const u8, []const []const u8 }{
        .{ "pair_ring", &.{ "bench/peers/pair.c", "bench/peers/ring_peer.c" }, &.{ "--producers", "2", "--backoff", "yield", "--read", "--seconds", "0.2", "--warmup", "0", "--capacity", "1048576" } },
        // a single-producer ring per producer process: preempted mid-put, a
        // producer's record is pinned and its own tail goes around the image
        // (before the fix of rp__go_around, 1 run in 3 lost an event here;
        // pin/single_producer_goes_around_pinned_claims is the exact test)
        .{ "pair_ring_x", &.{ "bench/peers/pair.c", "bench/peers/ring_peer.c" }, &.{ "--producers", "2", "--exclusive", "--backoff", "yield", "--seconds", "1", "--warmup", "0", "--capacity", "1048576" } },
        .{ "pair_memcpy", &.{ "bench/peers/pair.c", "bench/peers/memcpy_peer.c" }, &.{ "--seconds", "0.2", "--warmup", "0", "--capacity", "1048576" } },
        .{ "icount", &.{"bench/icount.c"}, &.{ "64", "2" } },
        .{ "bounce", &.{"bench/peers/bounce.c"}, &.{ "--trips", "1000" } },
    }) |spec| {
        const exe = b.addExecutable(.{ .name = spec[0], .root_module = cModule(b, target, .ReleaseFast, false, .tool) });
        exe.root_module.addCSourceFiles(.{ .files = spec[1], .flags = &c_flags });
        exe.root_module.linkLibrary(lib_fast);
        const run = b.addRunArtifact(exe);
        run.addArgs(spec[2]);
        if (std.mem.eql(u8, spec[0], "icount"))
            run.addArgs(&.{b.makeTempPath()})
        else if (!std.mem.eql(u8, spec[0], "bounce"))
            run.addArgs(&.{ "--dir", b.makeTempPath() });
        run.expectExitCode(0);
        bench_smoke.dependOn(&run.step);
    }

    // a stand-in for a processor bug, LD_PRELOADed by tests/test_supervise.c
    const crashy = b.addLibrary(.{ .name = "crashy", .linkage = .dynamic, .root_module = cModule(b, target, optimize, false, .tool) });
    crashy.root_module.addCSourceFiles(.{ .files = &.{"tests/contain/crashy.c"}, .flags = &c_flags });
    // installed for the tests that need it (e2eNeeds), never by `zig build install`
    crashy_install = b.addInstallArtifact(crashy, .{ .dest_dir = .{ .override = .{ .custom = "test" } } });

    // ---- fault matrix (tests/faults/run) ----------------------------------------
    const fprod = b.addExecutable(.{ .name = "fproducer", .root_module = cModule(b, target, optimize, false, .tool) });
    fprod.root_module.addCSourceFiles(.{ .files = &.{"tests/faults/fproducer.c"}, .flags = &c_flags });
    const fprod_install = b.addInstallArtifact(fprod, .{ .dest_dir = .{ .override = .{ .custom = "test" } } });
    const faults_run = b.addSystemCommand(&.{ "python3", "tests/faults/run" });
    if (b.args) |args| faults_run.addArgs(args);
    faults_run.stdio = .inherit;
    faults_run.has_side_effects = true;
    faults_run.step.dependOn(b.getInstallStep());
    faults_run.step.dependOn(&fprod_install.step);
    faults_run.setEnvironmentVariable("RINGPUB_BIN_DIR", b.getInstallPath(.bin, ""));
    if (sanitizers) { // the daemon and the collector under ASan+UBSan while faults hit them
        faults_run.addPrefixedFileArg("--ringpub=", gccSanitized(b, "ringpub_asan", "address,undefined", &(ring_sources ++ pub_sources ++ daemon_sources ++ [_][]const u8{"publisher/main.c"}), &pub_libs));
        faults_run.addPrefixedFileArg("--ringcollect=", gccSanitized(b, "ringcollect_asan", "address,undefined", &(pub_sources ++ collect_sources ++ [_][]const u8{"tools/collect/main.c"}), &(pub_libs ++ collect_libs)));
    }
    faults_run.setEnvironmentVariable("FPRODUCER", b.getInstallPath(.{ .custom = "test" }, "fproducer"));
    b.step("faults", "The fault matrix: real processes, injected faults, 0 lost (`-- --runs N --only NAME`)").dependOn(&faults_run.step);

    // ---- hostile clients against ringcollect (tests/hostile/run) ----------------
    const hostile_run = b.addSystemCommand(&.{ "python3", "tests/hostile/run" });
    if (b.args) |args| hostile_run.addArgs(args);
    hostile_run.stdio = .inherit;
    hostile_run.has_side_effects = true;
    hostile_run.step.dependOn(b.getInstallStep());
    hostile_run.setEnvironmentVariable("RINGPUB_BIN_DIR", b.getInstallPath(.bin, ""));
    b.step("hostile", "ringcollect against squatters, slowloris, memory, replays and malformed requests (`-- --only NAME`)").dependOn(&hostile_run.step);

    // ---- stress harness (tests/stress/run) --------------------------------------
    const stress_run = b.addSystemCommand(&.{ "python3", "tests/stress/run" });
    if (b.args) |args| stress_run.addArgs(args);
    stress_run.stdio = .inherit;
    stress_run.has_side_effects = true;
    for ([_][]const u8{ "sproducer", "sconsumer" }) |name| {
        const exe = b.addExecutable(.{ .name = name, .root_module = cModule(b, target, optimize, false, .all) });
        exe.root_module.addCSourceFiles(.{ .files = &.{b.fmt("tests/stress/{s}.c", .{name})}, .flags = &c_flags });
        if (std.mem.eql(u8, name, "sconsumer")) exe.root_module.addCSourceFiles(.{ .files = &ring_sources, .flags = &c_flags });
        stress_run.step.dependOn(&b.addInstallArtifact(exe, .{ .dest_dir = .{ .override = .{ .custom = "test" } } }).step);
    }
    stress_run.setEnvironmentVariable("STRESS_BIN", b.getInstallPath(.{ .custom = "test" }, ""));
    b.step("stress", "The multi-process stress harness: faults and verdicts (`-- --seconds S --profile P`)").dependOn(&stress_run.step);

    // ---- fuzzing (tests/fuzz/) -------------------------------------------------
    // libFuzzer comes with clang (Debian: clang-14 + libclang-rt-14-dev), not
    // with Zig, so the fuzz targets are built by clang-14 from the same sources.
    const fuzz_run = b.addSystemCommand(&.{ "bash", "tests/fuzz/run" });
    fuzz_run.stdio = .inherit;
    fuzz_run.has_side_effects = true;
    for (fuzz_targets) |name| {
        const cc = b.addSystemCommand(&.{ "clang-14", "-g", "-O1", "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all", "-Wall", "-Wextra", "-Werror", "-std=c17", "-D_GNU_SOURCE" });
        for (includeDirs(.all)) |dir| cc.addPrefixedDirectoryArg("-I", b.path(dir));
        cc.addArg("-o");
        const exe = cc.addOutputFileArg(name);
        cc.addFileArg(b.path(b.fmt("tests/fuzz/{s}.c", .{name})));
        for (ring_sources ++ pub_sources ++ daemon_sources ++ collect_sources) |src| cc.addFileArg(b.path(src));
        for (pub_libs ++ collect_libs) |l| cc.addArg(b.fmt("-l{s}", .{l}));
        fuzz_run.addFileArg(exe);
    }
    b.step("fuzz", "Build the libFuzzer targets with clang-14 and run each (FUZZ_SECONDS, default 60)").dependOn(&fuzz_run.step);

    // ---- tests --------------------------------------------------------------
    const test_step = b.step("test", "Run the Criterion tests (and sanitizer variants)");
    for (tests) |t| {
        if (only) |o| if (!std.mem.eql(u8, o, t.name)) continue;
        const exe = testExe(b, t, target, optimize, false);
        test_step.dependOn(&e2eNeeds(b, t, runInherit(b, exe)).step);
        if (!sanitizers) continue;
        test_step.dependOn(&e2eNeeds(b, t, gccSanitizerRun(b, t, "address,undefined")).step);
        if (t.threads)
            test_step.dependOn(&runInherit(b, testExe(b, t, target, optimize, true)).step);
    }
    // the Python package from its wheel in a fresh virtualenv (tests/python), and
    // with the real baseplate.py in its own pinned virtualenv (tests/baseplate)
    if (only == null) test_step.dependOn(pythonTest(b, "all"));
    if (only != null and std.mem.eql(u8, only.?, "baseplate")) test_step.dependOn(pythonTest(b, "baseplate"));
    if (only != null and std.mem.eql(u8, only.?, "python")) test_step.dependOn(pythonTest(b, "python"));
    if (only != null and std.mem.eql(u8, only.?, "eventtracking")) test_step.dependOn(pythonTest(b, "eventtracking"));
    // no import circle among the daemon's files (tests/layers/run)
    const layers = b.addSystemCommand(&.{ "python3", "tests/layers/run" });
    layers.stdio = .inherit;
    layers.has_side_effects = true;
    if (only == null or std.mem.eql(u8, only.?, "layers")) test_step.dependOn(&layers.step);
    if (only == null or std.mem.eql(u8, only.?, "bench-smoke")) test_step.dependOn(bench_smoke);
    // `zig build install --prefix P`: the product only, and buildable against with pkg-config
    const install_check = b.addSystemCommand(&.{ "bash", "tests/install/run" });
    install_check.stdio = .inherit;
    install_check.has_side_effects = true;
    b.step("install-check", "Install into a temporary prefix; build README's example against it with pkg-config").dependOn(&install_check.step);
    if (only == null or std.mem.eql(u8, only.?, "install")) test_step.dependOn(&install_check.step);

    // the producer header as C++17, next to the C consumer library
    const cxx = b.addExecutable(.{ .name = "test_cxx", .root_module = cModule(b, target, optimize, false, .all) });
    cxx.root_module.addCSourceFiles(.{ .files = &ring_sources, .flags = &c_flags });
    cxx.root_module.addCSourceFiles(.{ .files = &.{"tests/test_cxx.cpp"}, .flags = &cxx_flags });
    cxx.root_module.link_libcpp = true;
    cxx.root_module.linkSystemLibrary("criterion", .{});
    test_step.dependOn(&runInherit(b, cxx).step);
}

// ---- helpers ----------------------------------------------------------------

/// ringpub's version (include/ringpub.h, RP_VERSION): one source.
fn version(b: *std.Build) []const u8 {
    const h = b.build_root.handle.readFileAlloc(b.allocator, "include/ringpub.h", 1 << 20) catch @panic("include/ringpub.h");
    const key = "#define RP_VERSION \"";
    const at = std.mem.indexOf(u8, h, key) orelse @panic("RP_VERSION not in include/ringpub.h");
    const rest = h[at + key.len ..];
    return rest[0 .. std.mem.indexOfScalar(u8, rest, '"') orelse @panic("RP_VERSION")];
}

/// tools/install/NAME with @PREFIX@, @BINDIR@ and @VERSION@ filled in, installed at dest.
fn installTemplate(b: *std.Build, name: []const u8, dest: []const u8, ver: []const u8) void {
    var text = b.build_root.handle.readFileAlloc(b.allocator, b.fmt("tools/install/{s}", .{name}), 1 << 16) catch @panic(name);
    for ([_][2][]const u8{ .{ "@PREFIX@", b.install_prefix }, .{ "@BINDIR@", b.getInstallPath(.bin, "") }, .{ "@VERSION@", ver } }) |kv|
        text = std.mem.replaceOwned(u8, b.allocator, text, kv[0], kv[1]) catch @panic("OOM");
    const wf = b.addWriteFiles();
    b.getInstallStep().dependOn(&b.addInstallFile(wf.add(std.fs.path.basename(dest), text), dest).step);
}

/// What a packaged install needs besides binaries and headers: pkg-config's
/// ringpub.pc, the systemd template unit (one daemon per queue) and the
/// sysusers.d entry for its user.
fn installSystemFiles(b: *std.Build) void {
    const ver = version(b); // read once
    installTemplate(b, "ringpub.pc.in", "lib/pkgconfig/ringpub.pc", ver);
    installTemplate(b, "ringpub@.service.in", "lib/systemd/system/ringpub@.service", ver);
    b.getInstallStep().dependOn(&b.addInstallFile(b.path("tools/install/ringpub.sysusers"), "lib/sysusers.d/ringpub.conf").step);
}

/// share/man/manS/NAME.S for binary exe, by tools/man.
fn installMan(b: *std.Build, exe: *std.Build.Step.Compile, section: []const u8) void {
    const gen = b.addSystemCommand(&.{ "python3", "tools/man", exe.name, section });
    gen.addArtifactArg(exe);
    const page = gen.captureStdOut();
    b.getInstallStep().dependOn(&b.addInstallFileWithDir(page, .{ .custom = b.fmt("share/man/man{s}", .{section}) }, b.fmt("{s}.{s}", .{ exe.name, section })).step);
}

/// tools/python-test WHICH: the wheel built, installed and tested (pytest),
/// against the installed tools.
fn pythonTest(b: *std.Build, which: []const u8) *std.Build.Step {
    const run = b.addSystemCommand(&.{ "tools/python-test", which });
    run.stdio = .inherit;
    run.has_side_effects = true;
    run.step.dependOn(b.getInstallStep());
    run.setEnvironmentVariable("RINGPUB_BIN_DIR", b.getInstallPath(.bin, ""));
    return &run.step;
}

fn addShared(m: *std.Build.Module) void {
    m.addCSourceFiles(.{ .files = &shared_sources, .flags = &c_flags });
    for (pub_libs) |l| m.linkSystemLibrary(l, .{});
}

fn addPublisher(m: *std.Build.Module) void {
    m.addCSourceFiles(.{ .files = &pub_sources, .flags = &c_flags });
    for (pub_libs) |l| m.linkSystemLibrary(l, .{});
    m.addCSourceFiles(.{ .files = &daemon_sources, .flags = &c_flags });
}

fn addCollector(m: *std.Build.Module) void {
    addShared(m);
    m.addCSourceFiles(.{ .files = &collect_sources, .flags = &c_flags });
    for (collect_libs) |l| m.linkSystemLibrary(l, .{});
}

fn cModule(b: *std.Build, target: std.Build.ResolvedTarget, optimize: std.builtin.OptimizeMode, tsan: bool, dirs: Dirs) *std.Build.Module {
    const m = b.createModule(.{ .target = target, .optimize = optimize, .link_libc = true, .sanitize_thread = tsan });
    for (includeDirs(dirs)) |dir| m.addIncludePath(b.path(dir));
    return m;
}

fn testExe(b: *std.Build, t: TestSpec, target: std.Build.ResolvedTarget, optimize: std.builtin.OptimizeMode, tsan: bool) *std.Build.Step.Compile {
    const exe = b.addExecutable(.{
        .name = b.fmt("test_{s}{s}", .{ t.name, if (tsan) "_tsan" else "" }),
        .root_module = cModule(b, target, optimize, tsan, .all),
    });
    exe.root_module.addCSourceFiles(.{ .files = &ring_sources, .flags = &c_flags });
    exe.root_module.addCSourceFiles(.{
        .files = &.{ b.fmt("tests/test_{s}.c", .{t.name}), "tests/helpers.c" },
        .flags = &c_flags,
    });
    if (t.publisher) addPublisher(exe.root_module);
    exe.root_module.addCSourceFiles(.{ .files = t.extra, .flags = &c_flags });
    for (t.libs) |l| exe.root_module.linkSystemLibrary(l, .{});
    if (t.collector) exe.root_module.addCSourceFiles(.{ .files = &collect_sources, .flags = &c_flags });
    if (t.collector) for (collect_libs) |l| exe.root_module.linkSystemLibrary(l, .{});
    if (tsan) {
        // Criterion cannot run under TSan (Snaipe/Criterion#274): use the
        // small Criterion-compatible runner in tests/minicr.c instead.
        exe.root_module.addCMacro("RP_MINICR", "1");
        exe.root_module.addCSourceFiles(.{ .files = &.{"tests/minicr.c"}, .flags = &c_flags });
    } else {
        exe.root_module.linkSystemLibrary("criterion", .{});
    }
    return exe;
}

/// An e2e test runs after `install` and finds the binaries through
/// RINGPUB_BIN_DIR.
/// The LD_PRELOAD stand-in for a crashing processor (tests/test_supervise.c).
var crashy_install: *std.Build.Step.InstallArtifact = undefined;

fn e2eNeeds(b: *std.Build, t: TestSpec, run: *std.Build.Step.Run) *std.Build.Step.Run {
    if (t.e2e) {
        run.step.dependOn(b.getInstallStep());
        run.step.dependOn(&crashy_install.step);
        run.setEnvironmentVariable("RINGPUB_BIN_DIR", b.getInstallPath(.bin, ""));
    }
    return run;
}

fn runInherit(b: *std.Build, exe: *std.Build.Step.Compile) *std.Build.Step.Run {
    const run = b.addRunArtifact(exe);
    run.stdio = .inherit;
    return run;
}

/// Build a test with the system gcc and the given -fsanitize list, then run it.
fn gccSanitizerRun(b: *std.Build, t: TestSpec, sanitize: []const u8) *std.Build.Step.Run {
    var srcs = std.ArrayList([]const u8).init(b.allocator);
    var libs = std.ArrayList([]const u8).init(b.allocator);
    srcs.appendSlice(&ring_sources) catch @panic("OOM");
    if (t.publisher) srcs.appendSlice(&(pub_sources ++ daemon_sources)) catch @panic("OOM");
    if (t.collector) srcs.appendSlice(&collect_sources) catch @panic("OOM");
    srcs.appendSlice(t.extra) catch @panic("OOM");
    srcs.append(b.fmt("tests/test_{s}.c", .{t.name})) catch @panic("OOM");
    srcs.append("tests/helpers.c") catch @panic("OOM");
    libs.append("criterion") catch @panic("OOM");
    if (t.publisher) libs.appendSlice(&pub_libs) catch @panic("OOM");
    if (t.collector) libs.appendSlice(&collect_libs) catch @panic("OOM");
    libs.appendSlice(t.libs) catch @panic("OOM");
    const exe = gccSanitized(b, b.fmt("test_{s}_asan", .{t.name}), sanitize, srcs.items, libs.items);
    const run = std.Build.Step.Run.create(b, b.fmt("run test_{s}_asan", .{t.name}));
    run.addFileArg(exe);
    run.stdio = .inherit;
    return run;
}

/// An executable compiled by the system gcc with -fsanitize=`sanitize`
/// (the pinned Zig has no ASan runtime).
fn gccSanitized(b: *std.Build, name: []const u8, sanitize: []const u8, srcs: []const []const u8, libs: []const []const u8) std.Build.LazyPath {
    const cc = b.addSystemCommand(&.{ "gcc", b.fmt("-fsanitize={s}", .{sanitize}), "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g", "-O1" });
    cc.addArgs(&c_flags);
    for (includeDirs(.all)) |dir| cc.addPrefixedDirectoryArg("-I", b.path(dir));
    for (srcs) |src| cc.addFileArg(b.path(src));
    for (libs) |l| cc.addArg(b.fmt("-l{s}", .{l}));
    cc.addArg("-o");
    return cc.addOutputFileArg(name);
}
