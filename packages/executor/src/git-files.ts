// The git facts of probe.ts read from the repository's own files, for the usual layout only: a .git
// folder owned by this user, loose or packed refs, the commit (and tag) objects stored whole, loose or in
// a pack. Each git process costs plan a fork of node and its start (tens of ms on a loaded machine).
// Exact or nothing: wherever git might answer otherwise (GIT_* variables, worktrees, bare repositories,
// extensions, includes, replace refs, deltified objects, ambiguous names, several tags) a fact is null
// and git itself is asked (git-files.test.ts compares both on real repositories).
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type * as Zlib from "node:zlib";

type Env = Readonly<Record<string, string | undefined>>;

/** node:zlib when an object is read (never outside a repository). */
const zlib = (): typeof Zlib => process.getBuiltinModule("node:zlib");

/** GIT_* variables that change nothing these facts read (transport, prompts, new commits, tracing); any other: ask git. */
const QUIET_GIT_VARIABLES =
  /^GIT_(SSL_|SSH|ASKPASS$|TERMINAL_PROMPT$|PAGER$|EDITOR$|SEQUENCE_EDITOR$|AUTHOR_|COMMITTER_|TRACE|HTTP_|PROXY_|CURL_|LFS_|FLUSH$|REDACT_COOKIES$|PROTOCOL_FROM_USER$)/;

/** What each git command of probeGit would print (trimmed; "" where it fails), or null: ask git. */
export interface GitFileFacts {
  /** git log -1 --format="%H %ct" HEAD */
  head: string | null;
  /** git symbolic-ref --short --quiet HEAD */
  branch: string | null;
  /** git describe --tags --exact-match HEAD */
  tag: string | null;
  /** git config --get remote.origin.url */
  remote: string | null;
}

/** No repository holds `cwd` (as git finds one), the facts (some null), or undefined: ask git for all. */
export function readGitFiles(cwd: string, env: Env): "no-repository" | GitFileFacts | undefined {
  try {
    if (Object.keys(env).some((k) => k.startsWith("GIT_") && !QUIET_GIT_VARIABLES.test(k))) return undefined;
    const found = findGitDir(realpathSync(cwd));
    if (found === undefined || found === "no-repository") return found;
    return readFacts(found.gitDir, found.top);
  } catch {
    return undefined;
  }
}

const exists = (p: string) => existsSync(p);

/** git's discovery: the first folder upwards with a valid .git folder; a gitfile or bare repository: unsure. */
function findGitDir(start: string): { gitDir: string; top: string } | "no-repository" | undefined {
  const device = statSync(start).dev;
  for (let dir = start; ; ) {
    const dotGit = join(dir, ".git");
    const st = lstatOrUndefined(dotGit);
    if (st && !st.isDirectory()) return undefined; // a gitfile (worktree, submodule) or a link
    if (st && isGitDir(dotGit)) return { gitDir: dotGit, top: dir };
    if (isGitDir(dir)) return undefined; // bare
    const parent = dirname(dir);
    if (parent === dir) return "no-repository";
    if (statSync(parent).dev !== device) return undefined; // git stops at a mount point: let it say so
    dir = parent;
  }
}

/** What git checks before it takes a folder for a repository (setup.c is_git_directory). */
function isGitDir(dir: string): boolean {
  const head = lstatOrUndefined(join(dir, "HEAD"));
  if (!head) return false;
  if (head.isSymbolicLink()) throw new Error("unsure"); // valid or not depends on the link's target
  if (exists(join(dir, "commondir"))) throw new Error("unsure");
  const text = readFileSync(join(dir, "HEAD"), "latin1");
  if (!/^ref: refs\/\S+\n?$/.test(text) && !/^[0-9a-f]{40}\n?$/.test(text)) throw new Error("unsure"); // git reads more forms
  return exists(join(dir, "objects")) && exists(join(dir, "refs"));
}

function lstatOrUndefined(p: string) {
  return lstatSync(p, { throwIfNoEntry: false });
}

function readFacts(gitDir: string, top: string): GitFileFacts | undefined {
  // git refuses a repository another user owns (safe.directory); let it
  const uid = process.getuid?.();
  if (uid === undefined || statSync(top).uid !== uid || statSync(gitDir).uid !== uid) return undefined;
  const config = readFileSync(join(gitDir, "config"), "latin1");
  const remote = remoteUrl(config);
  if (remote === undefined) return undefined;
  const packed = packedRefs(gitDir);
  if (!packed) return undefined;
  if (packed.refs.some((r) => r.name.startsWith("refs/replace/")) || hasFiles(join(gitDir, "refs", "replace"))) return undefined;
  const headText = readFileSync(join(gitDir, "HEAD"), "latin1");
  let sha: string | undefined;
  let branch = "";
  const symbolic = /^ref: (refs\/heads\/\S+)\n?$/.exec(headText);
  if (symbolic) {
    const name = symbolic[1]!.slice("refs/heads/".length);
    // symbolic-ref --short says heads/NAME when NAME, refs/NAME or refs/tags/NAME names something too
    const twins = [name, `refs/${name}`, `refs/tags/${name}`];
    if (twins.some((t) => exists(join(gitDir, t)) || packed.refs.some((r) => r.name === t))) return undefined;
    branch = name;
    sha = resolveRef(gitDir, symbolic[1]!, packed);
  } else if (/^[0-9a-f]{40}\n?$/.test(headText)) {
    sha = headText.slice(0, 40);
  }
  if (!sha) return undefined; // no commits yet, or a HEAD not understood: git says which
  const commit = readObject(gitDir, sha);
  const time = commit?.type === "commit" ? committerTime(commit.body) : undefined;
  return { head: time === undefined ? null : `${sha} ${time}`, branch, tag: exactTag(gitDir, sha, packed), remote };
}

/**
 * remote.origin.url of the repository's config: null when it has none (global or system config could
 * have one: git is asked), undefined when the file holds anything this reader does not follow.
 */
function remoteUrl(config: string): string | null | undefined {
  let section = "";
  let url: string | null = null;
  for (const raw of config.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    if (line.endsWith("\\")) return undefined; // a value continued on the next line
    if (line.startsWith("[")) {
      const header = /^\[([A-Za-z0-9.-]+)(?:\s+"([^"\\]*)")?\]\s*(?:[#;].*)?$/.exec(line);
      if (!header) return undefined;
      const name = header[1]!.toLowerCase();
      if (name === "include" || name === "includeif" || name === "extensions" || name.includes(".")) return undefined;
      section = header[2] === undefined ? name : `${name} ${header[2]}`;
      continue;
    }
    const entry = /^([A-Za-z][A-Za-z0-9-]*)\s*(=\s*(.*))?$/.exec(line);
    if (!entry) return undefined;
    if (section !== "remote origin" || entry[1]!.toLowerCase() !== "url") continue;
    const value = entry[3];
    if (value === undefined || /["\\]/.test(value)) return undefined;
    url = value.replace(/[#;].*$/, "").trim();
  }
  return url;
}

interface PackedRefs {
  refs: { name: string; sha: string; peeled?: string }[];
  /** refs/tags/ entries without a ^peeled line are not annotated tags */
  tagsPeeled: boolean;
}

function packedRefs(gitDir: string): PackedRefs | undefined {
  const file = join(gitDir, "packed-refs");
  if (!exists(file)) return { refs: [], tagsPeeled: true };
  const out: PackedRefs = { refs: [], tagsPeeled: false };
  for (const line of readFileSync(file, "latin1").split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# pack-refs with:")) {
      out.tagsPeeled = / (peeled|fully-peeled)( |$)/.test(line);
      continue;
    }
    const ref = /^([0-9a-f]{40}) (refs\/\S+)$/.exec(line);
    const peeled = /^\^([0-9a-f]{40})$/.exec(line);
    const last = out.refs.at(-1);
    if (ref) out.refs.push({ name: ref[2]!, sha: ref[1]! });
    else if (peeled && last && last.peeled === undefined) last.peeled = peeled[1]!;
    else return undefined;
  }
  return out;
}

/** A ref's commit: its loose file first, then packed-refs; undefined when unborn or not plain. */
function resolveRef(gitDir: string, name: string, packed: PackedRefs): string | undefined {
  const loose = looseRef(gitDir, name);
  if (loose !== null) return loose;
  return packed.refs.find((r) => r.name === name)?.sha;
}

/** The sha a loose ref file holds, null when there is no such file; a symbolic or odd one throws (unsure). */
function looseRef(gitDir: string, name: string): string | null {
  const file = join(gitDir, name);
  const st = lstatOrUndefined(file);
  if (!st) return null;
  if (!st.isFile()) throw new Error("unsure");
  const text = readFileSync(file, "latin1");
  if (!/^[0-9a-f]{40}\n?$/.test(text)) throw new Error("unsure");
  return text.slice(0, 40);
}

function hasFiles(dir: string): boolean {
  return exists(dir) && readdirSync(dir).length > 0;
}

/**
 * describe --tags --exact-match: the one tag on the commit ("" for none). Several tags (describe picks
 * by kind and date), an annotated tag named otherwise inside, or objects this reader cannot open: null.
 */
function exactTag(gitDir: string, sha: string, packed: PackedRefs): string | null {
  const tags = new Map<string, { sha: string; peeled?: string; loose: boolean }>();
  for (const r of packed.refs)
    if (r.name.startsWith("refs/tags/")) tags.set(r.name.slice(10), { sha: r.sha, ...(r.peeled ? { peeled: r.peeled } : {}), loose: false });
  try {
    for (const name of looseRefNames(join(gitDir, "refs", "tags"), "")) tags.set(name, { sha: looseRef(gitDir, `refs/tags/${name}`)!, loose: true });
  } catch {
    return null;
  }
  const matches: string[] = [];
  let opened = 0;
  for (const [name, t] of tags) {
    if (t.sha === sha) {
      matches.push(name);
      continue;
    }
    if (!t.loose && (t.peeled !== undefined || packed.tagsPeeled)) {
      if (t.peeled !== sha) continue;
    } else if (++opened > 64) return null; // many tags not peeled: one git process is cheaper
    const object = readObject(gitDir, t.sha);
    if (!object) return null;
    if (object.type !== "tag") continue;
    const head = /^object ([0-9a-f]{40})\ntype (\w+)\ntag ([^\n]+)\n/.exec(object.body);
    if (!head) return null;
    if (head[1] !== sha) {
      if (head[2] === "tag") return null; // a tag of a tag: git peels further
      continue;
    }
    if (head[2] !== "commit" || head[3] !== name) return null;
    matches.push(name);
  }
  if (matches.length > 1) return null;
  return matches[0] ?? "";
}

function* looseRefNames(dir: string, prefix: string): Generator<string> {
  if (!exists(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) yield* looseRefNames(join(dir, e.name), `${prefix}${e.name}/`);
    else yield `${prefix}${e.name}`;
  }
}

/** %ct: the committer's timestamp, as git prints it. */
function committerTime(body: string): string | undefined {
  const header = body.slice(0, body.indexOf("\n\n") + 1 || undefined);
  if (header.match(/^committer /gm)?.length !== 1) return undefined;
  return /^committer [^\n]*> (0|[1-9]\d{0,12}) [+-]\d{4}$/m.exec(header)?.[1];
}

/** A commit or tag object, whole, from a loose file or a pack (not deltified); undefined otherwise. */
function readObject(gitDir: string, sha: string): { type: string; body: string } | undefined {
  const objects = join(gitDir, "objects");
  const loose = join(objects, sha.slice(0, 2), sha.slice(2));
  if (exists(loose)) {
    const raw = zlib().inflateSync(readFileSync(loose)).toString("latin1");
    const nul = raw.indexOf("\0");
    const head = /^(\w+) (\d+)$/.exec(raw.slice(0, nul));
    return head && Number(head[2]) === raw.length - nul - 1 ? { type: head[1]!, body: raw.slice(nul + 1) } : undefined;
  }
  const packDir = join(objects, "pack");
  if (!exists(packDir)) return undefined;
  for (const idx of readdirSync(packDir).filter((f) => f.endsWith(".idx"))) {
    const offset = packOffset(join(packDir, idx), sha);
    if (offset !== undefined) return packedObject(join(packDir, idx.replace(/\.idx$/, ".pack")), offset);
  }
  return undefined;
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, position);
  return buf.subarray(0, n);
}

/** Where a pack index (version 2) says the object starts in its pack. */
function packOffset(idxFile: string, sha: string): number | undefined {
  const fd = openSync(idxFile, "r");
  try {
    const head = readAt(fd, 0, 8 + 256 * 4);
    if (head.length < 8 + 1024 || head.readUInt32BE(0) !== 0xff744f63 || head.readUInt32BE(4) !== 2) throw new Error("unsure");
    const first = Number.parseInt(sha.slice(0, 2), 16);
    const count = head.readUInt32BE(8 + 255 * 4);
    const lo = first === 0 ? 0 : head.readUInt32BE(8 + (first - 1) * 4);
    const hi = head.readUInt32BE(8 + first * 4);
    const names = readAt(fd, 8 + 1024 + lo * 20, (hi - lo) * 20);
    const want = Buffer.from(sha, "hex");
    for (let i = 0; i < hi - lo; i++) {
      if (!names.subarray(i * 20, i * 20 + 20).equals(want)) continue;
      const n = lo + i;
      const small = readAt(fd, 8 + 1024 + count * 24 + n * 4, 4).readUInt32BE(0);
      if (!(small & 0x80000000)) return small;
      const large = readAt(fd, 8 + 1024 + count * 28 + (small & 0x7fffffff) * 8, 8);
      return Number(large.readBigUInt64BE(0));
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

const PACK_TYPES: Record<number, string> = { 1: "commit", 2: "tree", 3: "blob", 4: "tag" };

function packedObject(packFile: string, offset: number): { type: string; body: string } | undefined {
  const fd = openSync(packFile, "r");
  try {
    let buf = readAt(fd, offset, 64 * 1024);
    let c = buf[0]!;
    const type = PACK_TYPES[(c >> 4) & 7];
    if (!type) return undefined; // a delta: git rebuilds it
    let size = c & 15;
    let shift = 4;
    let i = 1;
    while (c & 0x80) {
      c = buf[i++]!;
      size += (c & 0x7f) * 2 ** shift;
      shift += 7;
    }
    // commits and tags are small; a larger one is read whole
    if (size > buf.length) buf = readAt(fd, offset, size * 2 + 1024);
    const body = zlib().inflateSync(buf.subarray(i), { finishFlush: zlib().constants.Z_SYNC_FLUSH }).toString("latin1");
    return body.length === size ? { type, body } : undefined;
  } finally {
    closeSync(fd);
  }
}
