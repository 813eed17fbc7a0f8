// validate's answer, kept per command line and folder, and given again while everything it read is
// unchanged. A run records each input as it reads it: every file system call with what it returned (of
// a stat, the fields the command read; of contents, a hash), every environment variable it looked at (a
// hash of its value; of a secret's, whether it is set; of a listing, the names), and what it printed. A
// later run with the same command line, folder and build repeats each call; one different answer and
// validate runs instead. A run that reached beyond what can be repeated (a child process, the network,
// an asynchronous or writing call) leaves nothing cached.
// Built on its own into dist/result-cache.cjs: bin/multiarch.js asks it before loading the bundle (an
// answer from the cache never loads it), and hands it to the bundle, which records through it.
import type { BigIntStats, Dirent, Stats } from "node:fs";
import { makeDir } from "@multiarch/executor";
import { join } from "node:path";
import { EXIT } from "./context.ts";
import { ASK_SET, setOf } from "./env-set.ts";
import { fdWriter, mayBeTerminal } from "./fd-writer.ts";
import type { FdWriter } from "./fd-writer.ts";

/** One call and its answer: ops are node:fs's function names, plus env. */
interface Fact {
  op: string;
  args: unknown[];
  /** What the call returned, as a string (a hash for contents and values): "!CODE" for an error. */
  is: string;
}

interface Entry {
  key: string;
  facts: Fact[];
  out: string;
  err: string;
  code: number;
}

// node's own module objects, not an import's copy: the recorder replaces their functions for everyone
// (syncBuiltinESMExports passes that on to ES module imports of them)
const fs = process.getBuiltinModule("node:fs");
const os = process.getBuiltinModule("node:os");
const { syncBuiltinESMExports } = process.getBuiltinModule("node:module");

/** Written into dist/result-cache.cjs by build.mjs: a hash of the bundle and its libraries. */
declare const MULTIARCH_BUILD_ID: string | undefined;
const FORMAT = 1;
const MAX_ENTRIES = 100;
const MAX_FACTS = 50_000;
const MAX_OUTPUT = 1 << 20;
/** Only exit codes that are the spec's verdict (valid, invalid): anything else may be the machine's. */
const CACHED_EXITS: readonly number[] = [EXIT.ok, EXIT.usage];
/** Modules whose loading means validate reached outside what is recorded. */
const UNRECORDED = [
  "child_process",
  "net",
  "http",
  "https",
  "http2",
  "dgram",
  "dns",
  "worker_threads",
  "inspector",
  "internal/fs/promises",
  "internal/fs/streams",
].map((m) => `NativeModule ${m}`);

/** Where entries live: MULTIARCH_CACHE_DIR, else the XDG cache folder; nowhere with MULTIARCH_NO_CACHE. */
function cacheDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env.MULTIARCH_NO_CACHE) return undefined;
  if (env.MULTIARCH_CACHE_DIR) return join(env.MULTIARCH_CACHE_DIR, "validate");
  const base = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, ".cache") : undefined);
  return base ? join(base, "multiarch", "validate") : undefined;
}

/**
 * A 53-bit hash (two multiply-xorshift lanes over 32-bit words): tells contents apart, and says no more
 * than 53 bits of a secret an environment variable or a file may hold (the cache never holds either).
 */
export function hash(data: string | Uint8Array): string {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  // whole words in an aligned copy (a Buffer may start anywhere in its pool): a quarter of the steps
  const padded = new Uint8Array((bytes.byteLength + 3) & ~3);
  padded.set(bytes);
  const words = new Int32Array(padded.buffer);
  let a = 0x9e3779b9 ^ bytes.byteLength;
  let b = 0x85ebca6b ^ bytes.byteLength;
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as number;
    a = Math.imul(a ^ w, 0x01000193);
    a ^= a >>> 15;
    b = Math.imul(b ^ w, 0x5bd1e995);
    b ^= b >>> 13;
  }
  a = Math.imul(a ^ (a >>> 15), 0x2c1b3c6d) ^ Math.imul(b ^ (b >>> 13), 0x297a2d39);
  b = Math.imul(b ^ (b >>> 16), 0x7feb352d) ^ Math.imul(a ^ (a >>> 11), 0x846ca68b);
  return (0x100000000 * (b & 0x1fffff) + (a >>> 0)).toString(36);
}

const keyOf = (argv: readonly string[], cwd: string): string =>
  JSON.stringify([FORMAT, typeof MULTIARCH_BUILD_ID === "string" ? MULTIARCH_BUILD_ID : "", process.version, process.arch, cwd, argv]);

// What each recorded call returned, as the replay compares it.
/**
 * The fields of a stat the command read ("mode=16877;size=4096"): a folder's kind, not its times, which
 * change whenever anything is added to it (/tmp, a home folder). "!ENOENT" when there is none.
 */
const statIs = (s: Stats | BigIntStats | undefined, fields: readonly string[]): string =>
  s === undefined ? "!ENOENT" : fields.map((f) => `${f}=${String((s as unknown as Record<string, unknown>)[f])}`).join(";");
const fieldsOf = (is: string): string[] => (is === "" || is.startsWith("!") ? [] : is.split(";").map((p) => p.slice(0, p.indexOf("="))));
const direntIs = (e: Dirent | string): string =>
  typeof e === "string"
    ? e
    : `${e.parentPath ?? ""}/${e.name}:${e.isFile() ? "f" : e.isDirectory() ? "d" : e.isSymbolicLink() ? "l" : e.isFIFO() ? "p" : e.isSocket() ? "s" : "o"}`;
/** A call's answer as recorded; a stat's as the fields `was` (its recorded answer) names. */
const IS: Record<string, (r: unknown, was: string) => string> = {
  existsSync: (r) => String(r),
  statSync: (r, was) => statIs(r as Stats | undefined, fieldsOf(was)),
  lstatSync: (r, was) => statIs(r as Stats | undefined, fieldsOf(was)),
  readdirSync: (r) => hash((r as (Dirent | string)[]).map(direntIs).join("\n")),
  realpathSync: (r) => String(r),
  "realpathSync.native": (r) => String(r),
  readFileSync: (r) => (typeof r === "string" ? `s${hash(r)}` : `b${hash(r as Uint8Array)}`),
};
const errorIs = (e: unknown): string => `!${(e as NodeJS.ErrnoException).code ?? "ERROR"}`;
const callFs = (op: string, args: unknown[]): unknown =>
  op === "realpathSync.native" ? fs.realpathSync.native(...(args as [string])) : (fs as unknown as Record<string, (...a: unknown[]) => unknown>)[op]!(...args);

const readOnly = (flags: unknown): boolean => flags === "r" || (typeof flags === "number" && (flags & (fs.constants.O_WRONLY | fs.constants.O_RDWR)) === 0);
/** Opened to repeat a read: a path that has become a FIFO since fails the read instead of blocking it. */
const openNonBlocking = (path: string): number => fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);

/**
 * This user's and writable by no one else (where there are users): what another account could have
 * written, or swapped in, is no answer (a shared MULTIARCH_CACHE_DIR, XDG_CACHE_HOME or HOME).
 */
const ownAndPrivate = (st: Stats): boolean => {
  const uid = process.getuid?.();
  return uid === undefined || (st.uid === uid && (st.mode & 0o022) === 0);
};

/**
 * A regular file's contents (and, if `trusted`, only when it passes); anything else (a FIFO, a device
 * such as /dev/zero) is an EINVAL, never read.
 */
function readRegular(path: string, encoding?: BufferEncoding | null, trusted?: (st: Stats) => boolean): string | Buffer {
  const fd = openNonBlocking(path);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || (trusted && !trusted(st))) throw Object.assign(new Error(`${path} is not a regular file of this user`), { code: "EINVAL" });
    return fs.readFileSync(fd, encoding);
  } finally {
    fs.closeSync(fd);
  }
}

/** Answers one read of an opened file as the recorder recorded it: bytes read, and their hash. */
function readIs(fd: number, length: number, position: number): string {
  const buf = Buffer.alloc(length);
  const got = fs.readSync(fd, buf, 0, length, position);
  return `${got}:${hash(buf.subarray(0, got))}`;
}

/** The environment's variable names, as a listing of it is recorded. */
const namesIs = (env: NodeJS.ProcessEnv): string => hash(Object.keys(env).sort().join("\n"));

/** Repeats every fact; true when each gives the answer recorded (a fact of another shape never does). */
function holds(facts: readonly Fact[], env: NodeJS.ProcessEnv): boolean {
  const opened = new Map<string, number>();
  try {
    for (const f of facts) {
      if (typeof f?.op !== "string" || !Array.isArray(f.args) || typeof f.is !== "string") return false;
      let is: string;
      try {
        if (f.op === "env") {
          const v = env[f.args[0] as string];
          is = v === undefined ? "!" : `=${hash(v)}`;
        } else if (f.op === "envSet") {
          is = setOf(env[f.args[0] as string]);
        } else if (f.op === "envNames") {
          is = namesIs(env);
        } else if (f.op === "openSync" || f.op === "readSync" || f.op === "fstatSync") {
          const [path, flags] = f.args as [string, string | number];
          if (!readOnly(flags)) return false;
          const at = `${flags}\0${path}`;
          let fd = opened.get(at);
          if (fd === undefined) {
            fd = openNonBlocking(path);
            opened.set(at, fd);
          }
          is =
            f.op === "openSync" ? "ok" : f.op === "fstatSync" ? statIs(fs.fstatSync(fd), fieldsOf(f.is)) : readIs(fd, f.args[2] as number, f.args[3] as number);
        } else if (f.op === "readFileSync") {
          is = IS.readFileSync!(readRegular(f.args[0] as string, f.args[1] as BufferEncoding | null | undefined), f.is);
        } else {
          const answer = IS[f.op];
          if (!answer) return false;
          is = answer(callFs(f.op, f.args), f.is);
        }
      } catch (e) {
        is = errorIs(e);
      }
      if (is !== f.is) return false;
    }
    return true;
  } finally {
    for (const fd of opened.values()) fs.closeSync(fd);
  }
}

/** Writes s through fd's writer; false when the output could not be written whole. */
function writeAll(w: FdWriter, s: string): boolean {
  return s === "" || w.write(s);
}

/**
 * The exit code of an answer given from the cache, written to stdout and stderr; undefined when there
 * is none that holds (then the command runs).
 */
export function replay(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv): number | undefined {
  const dir = cacheDir(env);
  // a terminal's output may depend on the terminal (colour, width)
  if (dir === undefined || mayBeTerminal(1) || mayBeTerminal(2)) return undefined;
  const key = keyOf(argv, cwd);
  let entry: Entry;
  try {
    // an entry another hand put there (a FIFO) could block the command it stands for
    if (!ownAndPrivate(fs.statSync(dir))) return undefined;
    entry = JSON.parse(readRegular(join(dir, `${hash(key)}.json`), "utf8", ownAndPrivate) as string) as Entry;
  } catch {
    return undefined;
  }
  const shaped =
    typeof entry === "object" &&
    entry !== null &&
    typeof entry.out === "string" &&
    typeof entry.err === "string" &&
    Number.isInteger(entry.code) &&
    Array.isArray(entry.facts);
  if (!shaped || entry.key !== key || !holds(entry.facts, env)) return undefined;
  let lost: string | undefined;
  const ok = writeAll(
    fdWriter(
      1,
      () => process.stdout,
      (e) => (lost = e.code ?? e.message),
    ),
    entry.out,
  );
  const stderr = fdWriter(2, () => process.stderr);
  writeAll(stderr, entry.err);
  if (!ok && lost !== undefined) {
    stderr.write(`multiarch: the output could not be written whole (${lost})\n`);
    return entry.code === EXIT.ok ? EXIT.environment : entry.code;
  }
  return entry.code;
}

/** record, bound by bin/multiarch.js to the installed package's folder. */
export type Recorder = (argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv) => Recording | undefined;

export interface Recording {
  /** process.env as the command must read it: every read is recorded. */
  env: NodeJS.ProcessEnv;
  /** The writer, with what it is given kept for the entry. */
  tee(w: FdWriter, into: "out" | "err"): FdWriter;
  /** Stops recording and stores the entry when every read was recorded and the verdict is the spec's. */
  finish(code: number, complete: boolean): void;
}

/**
 * Starts recording this process's reads for argv in cwd, or undefined when nothing would be cached
 * (no cache folder, or output to a terminal). Files of the installed package are not recorded: the
 * build id in the key stands for them.
 */
export function record(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv, packageDir: string): Recording | undefined {
  const dir = cacheDir(env);
  // a terminal's output may depend on the terminal (colour, width)
  if (dir === undefined || mayBeTerminal(1) || mayBeTerminal(2)) return undefined;
  const facts: Fact[] = [];
  let tainted = false;
  const output = { out: "", err: "" };
  const fsTable = fs as unknown as Record<string, unknown>;
  const restore: (() => void)[] = [];
  const distDir = join(packageDir, "dist");
  const own = (p: unknown): boolean => typeof p === "string" && p.startsWith(`${distDir}/`);
  /** fd of a file opened while recording: its path, flags and where its next read starts. */
  const fds = new Map<number, { path: string; flags: string | number; at: number }>();
  const note = (op: string, args: unknown[], is: string): Fact => {
    const fact = { op, args, is };
    if (facts.length >= MAX_FACTS) tainted = true;
    else facts.push(fact);
    return fact;
  };
  /** Answers known only at the end: the fields of each stat the command went on to read. */
  const pending: (() => void)[] = [];
  /** A stat that notes each field read of it; the fact's answer is those fields, when recording ends. */
  const watched = <T extends object>(stats: T, fact: Fact): T => {
    const fields = new Set<string>();
    pending.push(() => {
      fact.is = statIs(stats as unknown as Stats, [...fields].sort());
    });
    // isFile() and the rest read this.mode: through the proxy, so the field is noted too
    return new Proxy(stats, {
      get(target, name, receiver) {
        const v = Reflect.get(target, name, receiver);
        if (typeof name === "string" && typeof v !== "function" && Object.hasOwn(target, name)) fields.add(name);
        return v;
      },
    });
  };
  const answered = (op: string, stored: unknown[], r: unknown): unknown => {
    if ((op === "statSync" || op === "lstatSync") && r !== undefined) return watched(r as Stats, note(op, stored, ""));
    note(op, stored, IS[op]!(r, ""));
    return r;
  };
  /** Plain data only: a Buffer or URL path, or a function, cannot be stored and repeated. */
  const storable = (args: unknown[]): unknown[] | undefined => {
    let n = args.length;
    while (n > 1 && args[n - 1] === undefined) n--;
    const rest = args.slice(1, n);
    if (typeof args[0] !== "string") return undefined;
    if (rest.some((a) => a !== null && typeof a !== "string" && typeof a !== "number" && (typeof a !== "object" || Array.isArray(a)))) return undefined;
    return [args[0], ...rest.map((a) => (a !== null && typeof a === "object" ? JSON.parse(JSON.stringify(a)) : a))];
  };
  /** Set while tee writes: the only writes to stdout and stderr the entry holds. */
  let teeing = false;
  /** Calls made by a wrapped call (readFileSync opens and reads) are part of it: not recorded again. */
  let depth = 0;
  const wrap = (name: string, at: Record<string, unknown>, fn: (orig: (...a: unknown[]) => unknown, args: unknown[]) => unknown) => {
    const orig = at[name] as (...a: unknown[]) => unknown;
    const wrapped = Object.assign((...args: unknown[]) => {
      if (depth > 0) return orig.apply(at, args);
      depth++;
      try {
        return fn(orig, args);
      } finally {
        depth--;
      }
    }, orig);
    at[name] = wrapped;
    restore.push(() => {
      at[name] = orig;
    });
    return wrapped;
  };
  /** A call whose answer depends on its arguments alone: recorded as it returns or throws. */
  const pure = (op: string) => (orig: (...a: unknown[]) => unknown, args: unknown[]) => {
    const stored = own(args[0]) ? undefined : storable(args);
    if (stored === undefined && !own(args[0])) tainted = true;
    try {
      const r = orig.apply(fs, args);
      return stored ? answered(op, stored, r) : r;
    } catch (e) {
      if (stored) note(op, stored, errorIs(e));
      throw e;
    }
  };
  const recorded = new Set([
    "existsSync",
    "statSync",
    "lstatSync",
    "readdirSync",
    "readFileSync",
    "openSync",
    "readSync",
    "fstatSync",
    "closeSync",
    "writeSync",
  ]);
  for (const op of ["existsSync", "statSync", "lstatSync", "readdirSync", "readFileSync"]) wrap(op, fsTable, pure(op));
  const realpath = wrap("realpathSync", fsTable, pure("realpathSync")) as unknown as Record<string, unknown>;
  wrap("native", realpath, pure("realpathSync.native"));
  wrap("openSync", fsTable, (orig, args) => {
    const [path, flags = "r"] = args as [unknown, string | number | undefined];
    if (own(path)) return orig.apply(fs, args);
    if (typeof path !== "string" || !readOnly(flags)) {
      tainted = true;
      return orig.apply(fs, args);
    }
    try {
      const fd = orig.apply(fs, args) as number;
      note("openSync", [path, flags], "ok");
      fds.set(fd, { path, flags, at: 0 });
      return fd;
    } catch (e) {
      note("openSync", [path, flags], errorIs(e));
      throw e;
    }
  });
  wrap("readSync", fsTable, (orig, args) => {
    const file = fds.get(args[0] as number);
    // stdin, or a descriptor opened before recording: not repeatable
    if (!file) {
      tainted = true;
      return orig.apply(fs, args);
    }
    // (fd, buffer, offset, length, position) or (fd, buffer, { offset, length, position })
    const o = (typeof args[2] === "object" && args[2] !== null ? args[2] : { offset: args[2], length: args[3], position: args[4] }) as {
      offset?: number;
      length?: number;
      position?: number | bigint | null;
    };
    const buf = args[1] as Uint8Array;
    const offset = o.offset ?? 0;
    const length = o.length ?? buf.byteLength - offset;
    const position = typeof o.position === "number" && o.position >= 0 ? o.position : typeof o.position === "bigint" ? Number(o.position) : file.at;
    let got: number;
    try {
      got = orig.apply(fs, args) as number;
    } catch (e) {
      // what the command did next depends on the failure (EISDIR, EIO): it must fail so again
      note("readSync", [file.path, file.flags, length, position], errorIs(e));
      throw e;
    }
    if (!(typeof o.position === "number" && o.position >= 0) && typeof o.position !== "bigint") file.at += got;
    note("readSync", [file.path, file.flags, length, position], `${got}:${hash(buf.subarray(offset, offset + got))}`);
    return got;
  });
  wrap("fstatSync", fsTable, (orig, args) => {
    const r = orig.apply(fs, args) as Stats;
    const file = fds.get(args[0] as number);
    if (file) return watched(r, note("fstatSync", [file.path, file.flags], ""));
    if (args[0] !== 1 && args[0] !== 2) tainted = true;
    return r;
  });
  wrap("closeSync", fsTable, (orig, args) => {
    fds.delete(args[0] as number);
    return orig.apply(fs, args);
  });
  wrap("writeSync", fsTable, (orig, args) => {
    // the command's output is kept by tee; anything else written (console, process.stdout, another
    // file) is missing from the entry, or a side effect
    if (!teeing || (args[0] !== 1 && args[0] !== 2)) tainted = true;
    return orig.apply(fs, args);
  });
  // any other call reads or changes what is not recorded (accessors such as fs.promises and the stream
  // classes are left alone: reading them would load their modules, and UNRECORDED notices those)
  for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(fs))) {
    if (typeof d.value !== "function" || recorded.has(name) || name === "realpathSync" || /^[A-Z]/.test(name)) continue;
    wrap(name, fsTable, (orig, args) => {
      tainted = true;
      return orig.apply(fs, args);
    });
  }
  // what the operating system says outside the environment and files (home, user, host, temp folder)
  for (const name of ["homedir", "userInfo", "hostname", "tmpdir"])
    wrap(name, os as unknown as Record<string, unknown>, (orig, args) => {
      tainted = true;
      return orig.apply(os, args);
    });
  const envProxy = new Proxy(env, {
    get(target, name) {
      if (name === ASK_SET)
        return (variable: string) => {
          const set = setOf(target[variable]);
          note("envSet", [variable], set);
          return set;
        };
      const v = Reflect.get(target, name);
      if (typeof name === "string") note("env", [name], v === undefined ? "!" : `=${hash(String(v))}`);
      return v;
    },
    has(target, name) {
      const v = typeof name === "string" ? target[name] : undefined;
      if (typeof name === "string") note("env", [name], v === undefined ? "!" : `=${hash(v)}`);
      return Reflect.has(target, name);
    },
    // the names listed (git's discovery looks for GIT_ variables): the names, never the values
    ownKeys(target) {
      note("envNames", [], namesIs(target));
      return Reflect.ownKeys(target);
    },
    set(target, name, value) {
      tainted = true;
      return Reflect.set(target, name, value);
    },
    deleteProperty(target, name) {
      tainted = true;
      return Reflect.deleteProperty(target, name);
    },
  });
  syncBuiltinESMExports();
  const processEnv = process.env;
  process.env = envProxy;
  const moduleLoadList = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
  const loadedBefore = moduleLoadList.length;
  return {
    env: envProxy,
    tee(w, into) {
      return {
        write(s) {
          output[into] += s;
          teeing = true;
          try {
            return w.write(s);
          } finally {
            teeing = false;
          }
        },
        get isTTY() {
          return w.isTTY;
        },
      };
    },
    finish(code, complete) {
      process.env = processEnv;
      for (const undo of restore.reverse()) undo();
      syncBuiltinESMExports();
      if (moduleLoadList.slice(loadedBefore).some((m) => UNRECORDED.includes(m))) tainted = true;
      for (const settle of pending) settle();
      if (tainted || !complete || !CACHED_EXITS.includes(code) || output.out.length + output.err.length > MAX_OUTPUT) return;
      store(dir, { key: keyOf(argv, cwd), facts, out: output.out, err: output.err, code });
    },
  };
}

/** Written whole (a concurrent reader sees the old entry or the new); the oldest go beyond MAX_ENTRIES. */
function store(dir: string, entry: Entry): void {
  try {
    // a cache that cannot be written (read-only home) only costs the time it would have saved
    makeDir(dir, 0o700);
    if (!ownAndPrivate(fs.statSync(dir))) return;
    const file = join(dir, `${hash(entry.key)}.json`);
    const tmp = `${file}.${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
    fs.renameSync(tmp, file);
    const names = fs.readdirSync(dir).filter((n) => n.endsWith(".json"));
    if (names.length > MAX_ENTRIES) {
      const byAge = names.map((n) => ({ n, t: fs.statSync(join(dir, n)).mtimeMs })).sort((a, b) => a.t - b.t);
      for (const { n } of byAge.slice(0, names.length - MAX_ENTRIES)) fs.rmSync(join(dir, n), { force: true });
    }
  } catch {
    // see above
  }
}
