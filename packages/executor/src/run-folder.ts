// A run's own folder (bake's metadata, the OCI layouts it builds into, the docker config `docker manifest`
// writes), in the system's temporary folder, and what a run that ends without its clean-up leaves: SIGKILL,
// a second Ctrl-C or a crash skip the clean-up step and the folder's removal, and a bake outlives the
// process that started it (it has a process group of its own, so that an interrupt ends it whole). The
// folder holds a record, run.json: whose it is (a lock holder: pid, start time, spec), the engine it runs
// against, the images its clean-up would remove now, and the process groups running. A watchdog ends
// those groups when the run's process is gone; the next run removes the folders of runs that are gone,
// judged as the locks judge a holder, and removes the images they left.
import { lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { holderAlive, type LockHolder, processStart, stillRuns } from "./lock.ts";
import { runCommand } from "./runner.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** The variables that choose the engine: the images a run left are removed from that one. */
const ENGINE_VARS = ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG"] as const;

export interface RunRecord {
  holder: LockHolder;
  engine: Partial<Record<(typeof ENGINE_VARS)[number], string>>;
  /** What the run's clean-up would remove from the engine now (name@digest of what its tests pulled, names it loaded). */
  images: string[];
  /** The process groups of its commands running now: the leader's pid and start time. */
  groups: { pid: number; started?: string }[];
}

const RECORD = "run.json";
/** How long the watchdog takes to end a gone run's commands at most (a 250 ms look, TERM, KILL 2 s later), and some. */
const WATCHDOG_GRACE_MS = 3_000;
const PREFIX = "multiarch-run-";

export interface RunFolder {
  dir: string;
  /** Says what the clean-up would remove now. */
  leaves: (images: readonly string[]) => void;
  /** A command's process group, kept until the returned function is called (RunOptions.onGroup). */
  adopt: (pid: number) => () => void;
  /**
   * The run ends now without its clean-up (process.exit): its groups killed, its folder emptied, and its record
   * kept when it names images (the spec's next run removes them), else the folder removed too.
   */
  abandon: () => void;
  /** The run ended: the folder goes, its record last (a removal cut short leaves a record the next run reads). */
  remove: () => void;
}

export function openRunFolder(tmp: string, spec: string, env: Env): RunFolder {
  const dir = mkdtempSync(join(tmp, PREFIX));
  const started = processStart(process.pid);
  const record: RunRecord = {
    holder: { pid: process.pid, host: hostname(), since: new Date().toISOString(), ...(started ? { started } : {}), spec: realPath(spec) },
    engine: Object.fromEntries(ENGINE_VARS.flatMap((k) => (env[k] ? [[k, env[k]]] : []))),
    images: [],
    groups: [],
  };
  // written whole or not at all: a record half-written would read as no record (a folder left alone)
  const save = () => {
    writeFileSync(join(dir, `${RECORD}.draft`), JSON.stringify(record));
    renameSync(join(dir, `${RECORD}.draft`), join(dir, RECORD));
  };
  save();
  let watched = false;
  return {
    dir,
    leaves: (images) => {
      if (JSON.stringify(images) === JSON.stringify(record.images)) return;
      record.images = [...images];
      save();
    },
    adopt: (pid) => {
      const started = processStart(pid);
      const group = { pid, ...(started ? { started } : {}) };
      record.groups.push(group);
      save();
      if (!watched) {
        watched = true;
        startWatchdog(dir, process.pid);
      }
      return () => {
        record.groups = record.groups.filter((g) => g !== group);
        save();
      };
    },
    abandon: () => {
      for (const g of record.groups) killGroup(g.pid, "SIGKILL");
      if (!record.images.length) return removeFolder(dir);
      // the images stay for this spec's next run: removed now, while the containers of the tests just cut off
      // still end, they would only lose their names and stay, nameless (found by a review)
      record.groups = [];
      save();
      emptyFolder(dir);
    },
    remove: () => removeFolder(dir),
  };
}

const realPath = (file: string) => {
  try {
    return realpathSync.native(file);
  } catch {
    return file;
  }
};

const removal = (images: readonly string[]) => ({ program: "docker", args: ["image", "rm", "--force", ...images] });

/** The run's environment with its engine's variables as the run that left the images had them. */
const engineEnv = (env: Env, record: RunRecord): Env => ({ ...env, ...Object.fromEntries(ENGINE_VARS.map((k) => [k, record.engine[k]])) });

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ended already
  }
}

/** Everything of a run folder but its record; the names removed. */
function emptyFolder(dir: string): string[] {
  const names = readdirSync(dir).filter((name) => name !== RECORD);
  for (const name of names) rmSync(join(dir, name), { recursive: true, force: true, maxRetries: 3 });
  return names;
}

function removeFolder(dir: string): void {
  try {
    emptyFolder(dir);
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // what is left keeps its record: the next run removes it
  }
}

/**
 * Watches this process from outside: once it is gone (its parent changed), the process groups its run
 * folder's record still lists are ended, TERM then KILL; once the record is gone (the run ended), it
 * ends itself. A group whose leader's start time differs is another process's that took the pid.
 */
const WATCHDOG = `
const [record, run] = process.argv.slice(1), parent = Number(run), fs = require("node:fs");
const start = (pid) => { try { const s = fs.readFileSync("/proc/" + pid + "/stat", "utf8"); return s.slice(s.lastIndexOf(")") + 2).split(" ")[19]; } catch {} };
const kill = (groups, sig) => { for (const g of groups) if (!g.started || start(g.pid) === g.started) try { process.kill(-g.pid, sig); } catch {} };
const tick = setInterval(() => {
  let groups;
  try { groups = JSON.parse(fs.readFileSync(record, "utf8")).groups; } catch (e) { if (e.code === "ENOENT") process.exit(0); return; }
  if (process.ppid === parent) return;
  clearInterval(tick);
  kill(groups, "SIGTERM");
  setTimeout(() => kill(groups, "SIGKILL"), 2000);
}, 250);
`;

/** Starts the watchdog of the run `run` (its pid), whose folder is `dir`. */
export function startWatchdog(dir: string, run: number): void {
  // the run's pid as an argument: a run gone before the watchdog started leaves it a parent that is not the run
  void runCommand({ program: process.execPath, args: ["-e", WATCHDOG, join(dir, RECORD), String(run)], detach: true }, { cwd: dirname(dir), env: process.env });
}

/** What a sweep found and did: the dead runs whose leftovers went, and those whose commands still run. */
export interface Swept {
  /** Dead runs whose folders were removed, and the bytes they held. */
  runs: number;
  bytes: number;
  images: string[];
  /** Dead runs of other specs whose folders were emptied (their records stay for those specs' next runs). */
  emptied: { spec?: string; images: string[]; bytes: number }[];
  /** Dead runs with a process group still running (kept, with their folder: the group may still write it). */
  running: { pid: number; spec?: string; groups: number[]; dir: string }[];
}

/**
 * Removes what runs that are gone left in `tmp` (this user's folders only): their folders, and the images
 * their clean-up would have removed, from the engine they ran against. Images are removed only for runs of
 * `spec`, whose lock the caller holds: no live run of it can be using them. Another spec's dead run keeps
 * its record (its folder emptied) for that spec's next run. A dead run with a command still running is
 * reported, not touched: its group is not ended blindly.
 */
export async function sweepDeadRuns(tmp: string, spec: string, env: Env): Promise<Swept> {
  const swept: Swept = { runs: 0, bytes: 0, images: [], emptied: [], running: [] };
  let names: string[];
  try {
    names = readdirSync(tmp).filter((n) => n.startsWith(PREFIX));
  } catch {
    return swept;
  }
  const mine = realPath(spec);
  const uid = process.geteuid?.();
  for (const name of names) {
    const dir = join(tmp, name);
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
    const record = readRecord(dir);
    // no record: an older version's folder, or one being made; a live owner: a run beside this one
    if (!record || holderAlive(record.holder)) continue;
    // its watchdog may be ending them now (TERM, KILL 2 s later): a run started right after the kill waits for it
    let running = record.groups.filter((g) => stillRuns(g.pid, g.started));
    for (let waited = 0; running.length && waited < WATCHDOG_GRACE_MS; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
      running = running.filter((g) => stillRuns(g.pid, g.started));
    }
    if (running.length) {
      swept.running.push({ pid: record.holder.pid, ...(record.holder.spec ? { spec: record.holder.spec } : {}), groups: running.map((g) => g.pid), dir });
      continue;
    }
    const size = sizeOf(dir);
    if (record.images.length && record.holder.spec === mine) {
      await runCommand(removal(record.images), { cwd: tmp, env: engineEnv(env, record) });
      swept.images.push(...record.images);
    } else if (record.images.length) {
      // said once: an emptied folder (its record alone) is left alone by later runs of other specs
      if (emptyFolder(dir).length)
        swept.emptied.push({ ...(record.holder.spec ? { spec: record.holder.spec } : {}), images: record.images, bytes: size - sizeOf(dir) });
      continue;
    }
    removeFolder(dir);
    swept.runs++;
    swept.bytes += size;
  }
  return swept;
}

function readRecord(dir: string): RunRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(join(dir, RECORD), "utf8")) as RunRecord;
    return r.holder && Array.isArray(r.images) && Array.isArray(r.groups) ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes of the files under `dir`, links not followed. */
function sizeOf(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    try {
      if (e.isFile()) n += lstatSync(join(e.parentPath, e.name)).size;
    } catch {
      // removed meanwhile
    }
  }
  return n;
}
