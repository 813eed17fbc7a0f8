// `multiarch import`: what `docker buildx bake --print` says (inherits, matrix, functions and variables
// already resolved by buildx) -> an equivalent multiarch.yaml. Pure: the printed JSON and where the files
// are in, the spec text and what could not be carried (as warnings, never dropped silently) out.
import { printable } from "./printable.ts";
import { posix } from "node:path";
import { OCI_LAYOUT, ociLayoutFolder, parseImageRef, parsePlatform } from "@multiarch/plan";
import { maskUrlPassword } from "@multiarch/executor";
import { parseAnnotationKey } from "@multiarch/spec";
import { Document, isMap, isPair, isScalar, type Pair, parse, visit, type YAMLMap } from "yaml";
import type { BakeTarget } from "@multiarch/compiler";

/** A target as bake prints it: what multiarch writes (bake.ts), and whatever else a bake file may set. */
export type BakeTargetPrint = Partial<Omit<BakeTarget, "args" | "labels">> & {
  "dockerfile-inline"?: string;
  /** An arg or label declared without a value prints as null. */
  args?: Record<string, string | null>;
  labels?: Record<string, string | null>;
  [key: string]: unknown;
};
export interface BakePrint {
  group?: Record<string, { targets?: string[] }>;
  target: Record<string, BakeTargetPrint>;
}

export interface ImportOptions {
  /** Folder bake ran in: printed paths are relative to it. */
  bakeDir: string;
  /** Folder the spec will be written to. */
  specDir: string;
  /** The bake files, for the header comment. */
  files: string[];
  /** The platform bake builds a target without platforms for (the builder's own), when buildx said. */
  defaultPlatform?: string;
  /** What the bake files set that --print does not show (bakePrint's `unprinted`): not carried either. */
  unprinted?: readonly string[];
  /** bake's arguments past the files (targets, --set), for the header comment. */
  args?: readonly string[];
  /** Whether an environment variable is set where bake printed: a secret with neither env= nor src= reads it. */
  hasEnv?: (name: string) => boolean;
}

/** Keys multiarch carries; any other key a target sets is reported. */
const CARRIED = new Set([
  "context",
  "dockerfile",
  "target",
  "platforms",
  "tags",
  "args",
  "labels",
  "annotations",
  "contexts",
  "secret",
  "cache-from",
  "cache-to",
  "attest",
  "output",
]);

type Json = Record<string, unknown>;

interface Ref {
  host: string;
  path: string;
  tag: string;
}

const csv = (s: string): Record<string, string> =>
  Object.fromEntries(
    s.split(",").map((kv) => {
      const i = kv.indexOf("=");
      return i === -1 ? [kv.trim(), ""] : [kv.slice(0, i).trim(), kv.slice(i + 1).trim()];
    }),
  );

/** A registry's name in the spec, from its host: ghcr.io -> ghcr, docker.io -> dockerhub, 127.0.0.1:5000 -> local. */
function registryName(host: string, taken: Set<string>): string {
  const base =
    host === "docker.io"
      ? "dockerhub"
      : /^(localhost|127\.|\[::1\])/.test(host)
        ? "local"
        : host
            .split(/[.:]/)[0]!
            .toLowerCase()
            .replace(/[^a-z0-9_-]/g, "-")
            .replace(/^[^a-z0-9]+/, "") || "registry";
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}${n}`;
  taken.add(name);
  return name;
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const mostCommon = (lists: string[][]): string[] | undefined => {
  const counts = new Map<string, { list: string[]; n: number }>();
  for (const l of lists) {
    const k = JSON.stringify(l);
    counts.set(k, { list: l, n: (counts.get(k)?.n ?? 0) + 1 });
  }
  return [...counts.values()].sort((a, b) => b.n - a.n)[0]?.list;
};

/** A target's platforms as bake reads them: an entry may list several ("linux/amd64,linux/arm64", as buildx build --platform). */
const platformsWritten = (t: BakeTargetPrint): string[] => (t.platforms ?? []).flatMap((p) => p.split(",").map((x) => x.trim())).filter(Boolean);

/** Whether import needs the builder's platform: a target names none, or names "local" (the machine's own). */
export const needsBuilderPlatform = (print: BakePrint): boolean =>
  Object.values(print.target).some((t) => {
    const written = platformsWritten(t);
    return written.length === 0 || written.includes("local");
  });

/** Entries newer buildx prints as objects ({"type": "registry", "ref": …}): the KEY=VALUE,… form buildx also takes. */
const LISTS = ["output", "cache-from", "cache-to", "secret", "ssh", "attest"] as const;
function plainTarget(t: BakeTargetPrint): BakeTargetPrint {
  const out: Record<string, unknown> = { ...t };
  for (const k of LISTS) {
    const v = t[k];
    if (Array.isArray(v))
      out[k] = v.map((e: unknown) =>
        typeof e === "string" || e === null || typeof e !== "object"
          ? e
          : Object.entries(e)
              .map(([a, b]) => `${a}=${Array.isArray(b) ? b.join(";") : String(b)}`)
              .join(","),
      );
  }
  return out as BakeTargetPrint;
}

export function specFromBake(given: BakePrint, opts: ImportOptions): { text: string; warnings: string[] } {
  const print: BakePrint = { ...given, target: Object.fromEntries(Object.entries(given.target).map(([n, t]) => [n, plainTarget(t)])) };
  const warnings: string[] = [...(opts.unprinted ?? [])];
  const rel = (p: string, where = "a target") => {
    // a remote context (a git or https URL) is not a path: kept as written, for validate to say so, but
    // for credentials bake put into it from a variable: never written into a file that is checked in
    if (REMOTE.test(p)) {
      const bare = p.replace(/^(https?:\/\/)[^\s/@]+@/i, "$1").replace(/^((?:git|ssh):\/\/[^\s/@:]+):[^\s/@]+@/i, "$1@");
      if (bare !== p)
        warnings.push(
          `${where}: context ${bare}: bake's URL held credentials, which are not written; give git its token another way (buildx's GIT_AUTH_TOKEN secret)`,
        );
      return bare;
    }
    const abs = posix.resolve(opts.bakeDir, p);
    return posix.relative(opts.specDir, abs) || ".";
  };
  // Bake's groups, nested ones flattened: a group holds the targets of the groups in it.
  const members = (g: string, seen = new Set<string>()): string[] =>
    (print.group?.[g]?.targets ?? []).flatMap((m) => (print.group?.[m] && !seen.has(m) ? members(m, new Set([...seen, g])) : [m]));
  const groupNames = Object.keys(print.group ?? {})
    .filter((g) => g !== "default")
    .sort();
  // Targets multiarch cannot build are left out first, so that nothing (names, registries, groups) counts them.
  const platformsOf = new Map<string, string[]>();
  const leftOut = new Map<string, string>();
  for (const n of Object.keys(print.target).sort()) {
    const t = print.target[n]!;
    const where = `target ${n}`;
    for (const k of Object.keys(t))
      if (!CARRIED.has(k) && k !== "dockerfile-inline") warnings.push(`${where}: ${k} is not carried (multiarch has no equivalent)`);
    // bake's output reaches import with URL passwords masked (a value from the environment): written as ***
    // (a context's URL is written without its credentials: rel says so)
    for (const [k, v] of Object.entries(t)) {
      if (k === "context" || k === "contexts") continue;
      const texts = typeof v === "string" ? [v] : Array.isArray(v) ? v : v && typeof v === "object" ? Object.values(v) : [];
      if (texts.some((x) => typeof x === "string" && (x.includes("***@") || maskUrlPassword(x) !== x)))
        warnings.push(`${where}: ${k} holds a URL with credentials, written as ***: pass them to the build as a secret (secrets:), not in the spec`);
    }
    const platforms: string[] = [];
    // an entry may list several (bake splits "linux/amd64,linux/arm64" as buildx build --platform does)
    const written = t["dockerfile-inline"] === undefined ? platformsWritten(t) : [];
    for (const w of written) {
      // "local" is the machine's own platform to buildx: the builder's, as for a target that names none
      const p = w === "local" && opts.defaultPlatform ? opts.defaultPlatform : w;
      if (p !== w) warnings.push(`${where}: platform local is written as this builder's, ${p}`);
      const parsed = parsePlatform(p);
      if (!parsed.ok) warnings.push(`${where}: platform ${p} is not one multiarch builds (${parsed.message}); left out`);
      else if (!platforms.includes(parsed.platform)) platforms.push(parsed.platform);
    }
    const why =
      t["dockerfile-inline"] !== undefined
        ? "dockerfile-inline cannot be carried; write it to a file"
        : written.length && platforms.length === 0
          ? "none of its platforms can be carried"
          : undefined;
    if (why === undefined) platformsOf.set(n, platforms);
    else leftOut.set(n, why);
  }
  // a target built FROM one left out cannot be built either (its context would name no image, or another)
  for (let more = true; more; ) {
    more = false;
    for (const n of platformsOf.keys()) {
      const from = Object.values(print.target[n]!.contexts ?? {}).find((c) => c.startsWith("target:") && leftOut.has(c.slice(7)));
      if (from === undefined) continue;
      leftOut.set(n, `it builds FROM ${from}, which is left out`);
      platformsOf.delete(n);
      more = true;
    }
  }
  for (const [n, why] of leftOut) {
    const lost = groupNames.filter((g) => members(g).includes(n));
    warnings.push(`target ${n}: ${why}; left out${lost.length ? `, and out of group${lost.length > 1 ? "s" : ""} ${lost.join(", ")}` : ""}`);
  }
  const names = [...platformsOf.keys()];
  // Image names are unique: targets that make one name (App-Server and app-server, _base and base) get -2, -3…
  const imageNames = new Map<string, string>();
  const usedNames = new Set<string>();
  for (const n of names) {
    const base = imageName(n) || "image";
    let name = base;
    for (let k = 2; usedNames.has(name); k++) name = `${base}-${k}`;
    if (name !== base) warnings.push(`target ${n}: image name ${base} is another target's; it is image ${name}`);
    usedNames.add(name);
    imageNames.set(n, name);
  }
  const nameOf = (target: string) => imageNames.get(target) ?? imageName(target);
  // the targets asked for (bake prints them as group default); one reached only through another's target:
  // context is built for it and never output (bake gives it no output): an internal image
  const asked = print.group?.default ? new Set(members("default")) : undefined;
  // who builds FROM whom: the targets naming each one in a target: context
  const consumers = new Map<string, string[]>();
  for (const m of names)
    for (const c of Object.values(print.target[m]!.contexts ?? {})) {
      if (!c.startsWith("target:")) continue;
      const list = consumers.get(c.slice(7)) ?? [];
      if (!list.includes(m)) consumers.set(c.slice(7), [...list, m]);
    }
  const consumersOf = (n: string): string[] => consumers.get(n) ?? [];
  // A target with no platforms that others build FROM: bake builds it once, for the builder's platform, and
  // gives that image to each of them, whatever their platform (an arm64 image FROM an amd64 base). multiarch
  // builds it for each platform they are built for (through chains of such targets too).
  const inherited = new Map<string, string[]>();
  for (let more = true; more; ) {
    more = false;
    for (const n of names) {
      if (print.target[n]!.platforms?.length) continue;
      const mine = inherited.get(n) ?? [];
      for (const m of consumersOf(n))
        for (const p of print.target[m]!.platforms?.length ? platformsOf.get(m)! : (inherited.get(m) ?? []))
          if (!mine.includes(p)) {
            mine.push(p);
            more = true;
          }
      if (mine.length) inherited.set(n, mine);
    }
  }

  // Registries: per host, the namespace every tag on it shares; the rest of the path is the repository.
  const refs = new Map<string, Ref[]>();
  for (const n of names) {
    const list: Ref[] = [];
    // an image output's name= is where bake pushes too: a tag like the others
    const named = (print.target[n]!.output ?? [])
      .map(csv)
      .filter((o) => (o.type === "image" || o.type === "registry") && o.name)
      .flatMap((o) => o.name!.replace(/^"|"$/g, "").split(","));
    for (const t of [...new Set([...(print.target[n]!.tags ?? []), ...named])]) {
      const r = parseImageRef(t);
      if (!r.ok || r.value.digest) warnings.push(`${n}: tag "${t}" is not a name:tag reference; left out`);
      else {
        list.push({ host: r.value.host, path: r.value.path, tag: r.value.tag ?? "latest" });
        // compose's image: worker names a local image; pushed, it is Docker Hub's official-images namespace
        if (r.value.host === "docker.io" && r.value.path.startsWith("library/") && !/^(docker\.io|index\.docker\.io)\//.test(t))
          warnings.push(
            `${n}: tag "${t}" names docker.io/${r.value.path}, Docker Hub's official images, where no one else can push: give the spec a registry of yours (ghcr.io/OWNER, …)`,
          );
      }
    }
    refs.set(n, list);
  }
  const namespaces = new Map<string, string[]>();
  for (const r of [...refs.values()].flat()) {
    const dir = r.path.split("/").slice(0, -1);
    const have = namespaces.get(r.host) ?? dir;
    let k = 0;
    while (k < have.length && k < dir.length && have[k] === dir[k]) k++;
    namespaces.set(r.host, have.slice(0, k));
  }
  const taken = new Set<string>();
  const registries = new Map<string, { name: string; url: string; insecure: boolean }>();
  for (const [host, ns] of namespaces) {
    registries.set(host, { name: registryName(host, taken), url: [host, ...ns].join("/"), insecure: /^(localhost|127\.)/.test(host) });
  }
  const nsOf = (host: string) => namespaces.get(host)!.length;
  /** The registry of a host and folder, beside the per-host ones: for images those cannot express. */
  const extraRegistries = new Map<string, { name: string; url: string; insecure: boolean }>();
  const registryAt = (host: string, dir: readonly string[]) => {
    const url = [host, ...dir].join("/");
    const known = [...registries.values(), ...extraRegistries.values()].find((r) => r.url === url);
    if (known) return known;
    const r = { name: registryName(host, taken), url, insecure: /^(localhost|127\.)/.test(host) };
    extraRegistries.set(url, r);
    return r;
  };

  interface Img {
    bake: string;
    json: Json;
    platforms: string[];
    /** It named no platforms: platforms holds the builder's own. */
    unset: boolean;
    tags: string[];
    args: Record<string, string>;
    labels: Record<string, string>;
  }
  const images: Img[] = [];
  for (const n of names) {
    const t = print.target[n]!;
    const where = `target ${n}`;
    const platforms = platformsOf.get(n)!;
    // bake builds a target without platforms for the builder's own: say so, or the spec's default (two) applies
    const fromConsumers = t.platforms?.length ? undefined : inherited.get(n);
    const unset = !t.platforms?.length && fromConsumers === undefined;
    if (fromConsumers) {
      platforms.push(...fromConsumers);
      warnings.push(
        `${where}: sets no platforms, and ${consumersOf(n).join(", ")} build${consumersOf(n).length > 1 ? "" : "s"} FROM it: bake builds it for the builder's platform alone and gives that image to every platform; multiarch builds it for each, ${fromConsumers.join(", ")} (a tool image that only FROM --platform=$BUILDPLATFORM stages use needs the builder's alone)`,
      );
    } else if (unset && opts.defaultPlatform) platforms.push(opts.defaultPlatform);
    else if (unset) warnings.push(`${where}: sets no platforms and buildx did not say its builder's platform; it gets the spec's default platforms`);
    const json: Json = { context: rel(t.context ?? ".", where) };
    if (t.dockerfile && posix.isAbsolute(t.dockerfile)) {
      // bake reads it as it is; a spec names files relative to the context, on every checkout
      json.dockerfile = posix.relative(posix.resolve(opts.bakeDir, t.context ?? "."), t.dockerfile);
      warnings.push(`${where}: dockerfile ${t.dockerfile} is written relative to the context: ${json.dockerfile}`);
    } else if (t.dockerfile && t.dockerfile !== "Dockerfile") json.dockerfile = t.dockerfile;
    if (t.target) json.target = t.target;

    let mine = refs.get(n)!;
    // a bare path is bake's type=local,dest=PATH
    const outputs = (t.output ?? []).map((o) => (o.includes("=") ? csv(o) : { type: "local", dest: o }));
    const cacheOnly = outputs.some((o) => o.type === "cacheonly");
    const linked = consumers.has(n) && asked !== undefined && !asked.has(n);
    for (const o of outputs) {
      if (o.type && !["cacheonly", "image", "registry"].includes(o.type))
        warnings.push(
          `${where}: output type=${o.type}${o.dest ? `,dest=${o.dest}` : ""} is not carried: multiarch pushes to registries (or writes an OCI archive)`,
        );
      else if (o.type !== "cacheonly") {
        // what an image output sets besides where it goes: multiarch pushes with buildx's defaults
        const extra = Object.entries(o).filter(([k]) => !["type", "name", "push", "registry.insecure"].includes(k));
        if (extra.length)
          warnings.push(
            `${where}: output ${extra.map(([k, v]) => (v === "" ? k : `${k}=${v}`)).join(",")} is not carried: multiarch pushes with buildx's defaults`,
          );
      }
    }
    if (cacheOnly && !consumers.has(n))
      warnings.push(
        `${where}: output type=cacheonly and no target builds FROM it: a check bake runs (a lint or test stage), which multiarch builds only for images that use it; run it with docker buildx bake ${n}, or make it an image's test:`,
      );
    if (linked)
      warnings.push(
        `${where}: bake builds it only as the context of ${consumersOf(n).join(", ")} (it is not among the targets asked for) and pushes it nowhere: an internal image (publish: false)${mine.length ? ", its tags not carried" : ""}`,
      );
    if (cacheOnly || linked || (mine.length === 0 && consumers.has(n))) json.publish = false;
    else if (mine.length === 0) {
      json.registries = [];
      warnings.push(`${where}: no tags; it becomes an OCI archive under .multiarch/oci`);
    }
    // multiarch pushes every repository of an image to every registry it names, each with every tag.
    // Refs that are not such a cross product (ghcr.io/acme/img and docker.io/acme/img when docker.io's
    // shared namespace is empty) get registries of their own folders, when they share one name.
    let repoOf = (r: Ref) => r.path.split("/").slice(nsOf(r.host)).join("/");
    let registryOf = (r: Ref) => registries.get(r.host)!;
    const pairs = (list: readonly Ref[]) => new Set(list.map((r) => `${registryOf(r).name} ${repoOf(r)}`));
    const count = (f: (r: Ref) => string) => new Set(mine.map(f)).size;
    if (pairs(mine).size < count((r) => registryOf(r).name) * count(repoOf)) {
      const leaf = (r: Ref) => r.path.split("/").at(-1)!;
      if (count(leaf) === 1) {
        repoOf = leaf;
        registryOf = (r) => registryAt(r.host, r.path.split("/").slice(0, -1));
      } else {
        const first = `${mine[0]!.host} ${repoOf(mine[0]!)}`;
        const dropped = mine.filter((r) => `${r.host} ${repoOf(r)}` !== first);
        mine = mine.filter((r) => `${r.host} ${repoOf(r)}` === first);
        warnings.push(
          `${where}: ${dropped.map((r) => `${r.host}/${r.path}:${r.tag}`).join(", ")} left out: an image has one repository name in every registry it names`,
        );
      }
    }
    const repos = [...new Set(mine.map(repoOf))];
    const regs = [...new Set(mine.map((r) => registryOf(r).name))];
    // an image output's registry.insecure=true: its registries are plain HTTP
    if (outputs.some((o) => o["registry.insecure"] === "true")) for (const r of mine) registryOf(r).insecure = true;
    // an internal image is never tagged: a cacheonly target's tags name where bake would not push either
    // (newer buildx gives a linked target a cacheonly output: said once, as linked)
    if (cacheOnly && !linked && mine.length) warnings.push(`${where}: output type=cacheonly: an internal image (publish: false), its tags are not carried`);
    const tags = json.publish === false ? [] : [...new Set(mine.map((r) => r.tag))];
    const sets = new Set(
      [...pairs(mine)].map((k) =>
        JSON.stringify(
          mine
            .filter((r) => `${registryOf(r).name} ${repoOf(r)}` === k)
            .map((r) => r.tag)
            .sort(),
        ),
      ),
    );
    if (json.publish !== false && sets.size > 1)
      warnings.push(`${where}: its tags differ between repositories or registries; every repository gets ${tags.join(", ")}`);
    if (repos.length > 1) json.repository = repos;
    else if (repos[0] !== undefined && repos[0] !== nameOf(n)) json.repository = repos[0];
    if (regs.length && regs.length < registries.size + extraRegistries.size) json.registries = regs;

    if (t.contexts) {
      const contexts: Record<string, string> = {};
      for (const [k, v] of Object.entries(t.contexts)) {
        if (v.startsWith("target:")) contexts[k] = `image:${nameOf(v.slice(7))}`;
        else if (v.startsWith("oci-layout://")) contexts[k] = ociLayout(v, rel);
        else contexts[k] = rel(v, where);
      }
      json.contexts = contexts;
    }
    if (t.secret?.length) {
      json.secrets = t.secret.flatMap((s): Json[] => {
        const f = csv(s);
        if (f.env || f.type === "env") return [{ id: f.id, env: f.env ?? f.id }];
        if (f.src) return [{ id: f.id, file: posix.isAbsolute(f.src) ? f.src : rel(f.src) }];
        // neither: buildx reads the environment variable of its id when it is set, else the file of that name
        if (f.id && opts.hasEnv?.(f.id)) {
          warnings.push(
            `${where}: secret id=${f.id} names neither env nor src: bake read environment variable ${f.id}, which is set here; written as env: ${f.id}`,
          );
          return [{ id: f.id, env: f.id }];
        }
        if (f.id) {
          warnings.push(
            `${where}: secret id=${f.id} names neither env nor src: bake read the file ${f.id}, as environment variable ${f.id} is not set here; written as file:`,
          );
          return [{ id: f.id, file: rel(f.id) }];
        }
        warnings.push(`${where}: secret "${s}" has no id; left out`);
        return [];
      });
    }
    const annotations: Record<string, string> = {};
    for (const a of t.annotations ?? []) {
      const m = /^(?:([a-z-]+(?:\[[^\]]*\])?(?:,[a-z-]+(?:\[[^\]]*\])?)*):)?([^=]+)=(.*)$/s.exec(a);
      if (!m) warnings.push(`${where}: annotation "${a}" is not KEY=VALUE; left out`);
      else if (!parseAnnotationKey(`${m[1] ?? "manifest"}:${m[2]}`))
        warnings.push(`${where}: annotation ${m[2]} is set on "${m[1]}"; multiarch writes the index and the image manifests only, so it is left out`);
      // the levels stay as bake wrote them (index:, index,manifest:); a plain or manifest: key is a plain key
      else annotations[m[1] && m[1] !== "manifest" ? `${m[1]}:${m[2]}` : m[2]!] = literal(m[3]!);
    }
    if (Object.keys(annotations).length) json.annotations = annotations;
    // a bare ref is a registry cache to buildx (compose's cache_from: [REF])
    const cacheForm = (c: string) => (c.includes("=") ? c : `type=registry,ref=${c}`);
    const cacheTo = (t["cache-to"] ?? []).map((c) => csv(cacheForm(c)))[0];
    const cacheFrom = (t["cache-from"] ?? []).map(cacheForm);
    if (cacheTo || cacheFrom.length) {
      const type = cacheTo?.type ?? csv(cacheFrom[0]!).type;
      const cache: Json = { type: type === "gha" || type === "local" ? type : "registry" };
      if (type !== "gha" && type !== "local" && type !== "registry") warnings.push(`${where}: cache type ${type} becomes a registry cache`);
      if (cache.type === "registry" && regs.length === 0) {
        // pushed nowhere (an internal image, an OCI archive): its cache goes to a registry of the spec,
        // the one its cache refs name, else the first
        const named = [...(t["cache-to"] ?? []), ...cacheFrom].map((c) => registries.get(refHost(csv(c).ref))).find((r) => r);
        const home = named ?? [...registries.values()][0];
        if (home) cache.registry = home.name;
      }
      // buildx's cache-to is min unless it says max; multiarch's is max unless it says min
      if (cacheTo && cacheTo.mode !== "max" && cacheTo.type !== "inline") cache.mode = "min";
      if (cacheTo?.["ignore-error"] === "true") cache.ignoreError = true;
      // the cache bake wrote is read on the first run (multiarch writes its own, under other names)
      const bakes = cacheTo?.type === "registry" && cacheTo.ref ? `type=registry,ref=${cacheTo.ref}` : undefined;
      const from = [...new Set([...cacheFrom, ...(bakes ? [bakes] : [])])];
      if (from.length) cache.from = from;
      if (cache.type === "registry" && regs.length === 0 && !cache.registry) {
        const from = cacheFrom.length ? ` (cache-from ${cacheFrom.join(", ")})` : "";
        warnings.push(`${where}: a registry cache needs a registry and no target is tagged in one; cache left out${from}`);
      } else {
        json.cache = cache;
        warnings.push(`${where}: multiarch writes its own cache (one per image and platform); the bake file's cache-from entries are kept as extra sources`);
      }
    }
    const attest: Json = {};
    for (const a of (t.attest ?? []).map(csv)) {
      if (a.type === "provenance") attest.provenance = a.disabled === "true" ? false : a.mode === "max" ? "max" : "min";
      if (a.type === "sbom" && a.disabled !== "true") attest.sbom = true;
      // a pinned SBOM generator, a builder id: multiarch asks for the attestation with BuildKit's defaults
      const extra = Object.entries(a).filter(([k]) => !["type", "disabled", ...(a.type === "provenance" ? ["mode"] : [])].includes(k));
      if (extra.length)
        warnings.push(`${where}: attest type=${a.type}: ${extra.map(([k, v]) => `${k}=${v}`).join(",")} is not carried (BuildKit's defaults apply)`);
    }
    if (Object.keys(attest).length) json.attest = attest;
    const entries = (m: Record<string, string | null> | undefined) =>
      Object.fromEntries(
        Object.entries(m ?? {})
          .filter((e): e is [string, string] => e[1] !== null && e[1] !== undefined)
          .map(([k, v]) => [k, literal(v)]),
      );
    images.push({ bake: n, json, platforms, unset: unset && opts.defaultPlatform !== undefined, tags, args: entries(t.args), labels: entries(t.labels) });
  }

  // What every image shares goes to the top (platforms) and to defaults (tags, args, labels).
  const platforms = mostCommon(images.map((i) => i.platforms).filter((p) => p.length > 0)) ?? [];
  const withTags = images.filter((i) => i.tags.length > 0);
  const sharedTags = withTags.length > 1 && withTags.every((i) => sameList(i.tags, withTags[0]!.tags)) ? withTags[0]!.tags : undefined;
  const common = (pick: (i: Img) => Record<string, string>): Record<string, string> => {
    if (images.length < 2) return {};
    const [first, ...rest] = images.map(pick);
    return Object.fromEntries(Object.entries(first!).filter(([k, v]) => rest.every((m) => m[k] === v)));
  };
  const sharedArgs = common((i) => i.args);
  const sharedLabels = common((i) => i.labels);
  const without = (m: Record<string, string>, shared: Record<string, string>) => Object.fromEntries(Object.entries(m).filter(([k]) => !(k in shared)));

  const spec: Json = { version: 1 };
  if (platforms.length) spec.platforms = platforms;
  const allRegistries = [...registries.values(), ...extraRegistries.values()];
  if (allRegistries.length) spec.registries = Object.fromEntries(allRegistries.map((r) => [r.name, { url: r.url, ...(r.insecure ? { insecure: true } : {}) }]));
  const defaults: Json = {};
  if (sharedTags) defaults.tags = sharedTags;
  if (Object.keys(sharedArgs).length) defaults.args = sharedArgs;
  if (Object.keys(sharedLabels).length) defaults.labels = sharedLabels;
  if (Object.keys(defaults).length) spec.defaults = defaults;
  const groups: Record<string, string[]> = {};
  for (const g of groupNames) {
    const all = [...new Set(members(g))];
    const list = all.filter((m) => platformsOf.has(m));
    const lost = all.filter((m) => leftOut.has(m));
    if (list.length) groups[imageName(g)] = list.map(nameOf);
    else if (lost.length) warnings.push(`group ${g}: every target in it is left out (${lost.join(", ")}); left out too`);
  }
  if (Object.keys(groups).length) spec.groups = groups;
  const out: Json = {};
  for (const i of images) {
    const json: Json = { ...i.json };
    if (!sameList(i.platforms, platforms) && i.platforms.length) json.platforms = i.platforms;
    if (i.tags.length && !sharedTags) json.tags = i.tags;
    const args = without(i.args, sharedArgs);
    const labels = without(i.labels, sharedLabels);
    if (Object.keys(args).length) json.args = args;
    if (Object.keys(labels).length) json.labels = labels;
    out[nameOf(i.bake)] = json;
  }
  spec.images = out;
  // no OCI labels of its own: the imported images carry what the bake file gave them
  spec.build = { ociLabels: false };

  // what the bake file gave (a tag, a value) is shown as text: no control character, no line of its own
  warnings.splice(0, warnings.length, ...warnings.map((w) => printable(w, false)));
  const doc = new Document(spec);
  doc.commentBefore = [
    printable(
      ` Imported by \`multiarch import\` from ${opts.files.join(", ") || "the bake files bake found in its folder"}, as \`docker buildx bake --print${opts.args?.length ? ` ${opts.args.join(" ")}` : ""}\` resolved it`,
      false,
    ),
    " (variables, functions, inherits and matrix already applied: make values that change into variables:).",
    ...(warnings.length ? [" Not carried or changed (see multiarch import's warnings):", ...warnings.map((w) => `   - ${w}`)] : []),
  ].join("\n");
  const unset = images.filter((i) => i.unset);
  const builderNote = (targets: string) =>
    [
      ` ${targets} no platforms: bake builds for the builder's own, ${opts.defaultPlatform} (docker buildx inspect).`,
      " Add the platforms it should run on: building them all from one spec is what multiarch is for.",
    ].join("\n");
  const topPlatforms =
    doc.contents && isMap(doc.contents) ? (doc.contents.items as Pair[]).find((p) => isScalar(p.key) && p.key.value === "platforms") : undefined;
  const inheriting = unset.filter((i) => sameList(i.platforms, platforms));
  if (topPlatforms && isScalar(topPlatforms.key) && inheriting.length)
    topPlatforms.key.commentBefore = builderNote(
      inheriting.length === images.length ? "The bake file sets" : `Bake targets ${inheriting.map((i) => i.bake).join(", ")} set`,
    );
  const imagesNode = doc.get("images", true) as YAMLMap | undefined;
  if (imagesNode && isMap(imagesNode)) {
    for (const item of imagesNode.items as Pair[]) {
      if (isPair(item) && isScalar(item.key)) {
        const name = String(item.key.value);
        const img = images.find((i) => nameOf(i.bake) === name);
        if (img && img.bake !== name) item.key.commentBefore = ` bake target ${img.bake}`;
        const own = img?.unset && isMap(item.value) ? (item.value.items as Pair[]).find((p) => isScalar(p.key) && p.key.value === "platforms") : undefined;
        if (own && isScalar(own.key)) own.key.commentBefore = builderNote(`Bake target ${img!.bake} sets`);
      }
    }
  }
  return { text: escapedText(doc), warnings };
}

/**
 * Characters YAML does not print (DEL, C1 but NEL) or that YAML 1.1 readers take for line breaks (NEL,
 * U+2028, U+2029), besides the C0 controls the yaml library escapes itself: a value holding one is
 * written double-quoted, the character as an escape. yaml writes them raw, and PyYAML refuses the file.
 * A one-line value a YAML 1.1 reader would take for something else (yes, off, 0777, 1:20, a date) is
 * double-quoted too: yaml writes it plain, as YAML 1.2 reads it as a string, and PyYAML read `yes` as true.
 */
const UNPRINTABLE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]/;
const ESCAPES: Record<string, string> = { "\x85": "\\N", "\u2028": "\\L", "\u2029": "\\P" };
const readAsOther11 = (value: string): boolean => {
  if (value.includes("\n")) return false;
  try {
    const read = parse(value, { version: "1.1" });
    // the yaml library's 1.1 floats take "." for NaN; no YAML 1.1 reader does
    return read !== value && !(value === "." && Number.isNaN(read));
  } catch {
    return true;
  }
};
function escapedText(doc: Document): string {
  visit(doc, {
    Scalar(_, node) {
      if (typeof node.value === "string" && (UNPRINTABLE.test(node.value) || readAsOther11(node.value))) node.type = "QUOTE_DOUBLE";
    },
  });
  // left raw only inside those double-quoted scalars (the comments went through printable, C0 was escaped)
  return doc
    .toString({ lineWidth: 0 })
    .replace(/[\x7f-\x9f\u2028\u2029\ufffe\uffff]/g, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`);
}

/** The registry host of a cache ref (type=registry,ref=HOST/REPO:TAG), when it is one. */
const refHost = (ref: string | undefined): string => {
  const r = ref ? parseImageRef(ref) : undefined;
  return r?.ok ? r.value.host : "";
};

/** A git or https URL (or git@host:repo): a remote build context. */
const REMOTE = /^(?:[a-z][a-z0-9+.-]*:\/\/|git@)/i;

/** oci-layout://PATH[:TAG][@DIGEST] with PATH as the spec's folder sees it. */
function ociLayout(v: string, rel: (p: string) => string): string {
  const path = ociLayoutFolder(v);
  return `${OCI_LAYOUT}${rel(path)}${v.slice(OCI_LAYOUT.length + path.length)}`;
}

/**
 * A value bake took as written: {{ in it is text to multiarch's templates too; a URL's credentials (a
 * variable bake resolved) are written as *** (the runner masks them in bake's output already).
 */
const literal = (v: string): string => maskUrlPassword(v).replaceAll("{{", "\\{{");

/** Image names are [a-z0-9][a-z0-9_-]*: bake target names may hold dots and capitals. */
export const imageName = (target: string): string =>
  target
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "-")
    .replace(/^[^a-z0-9]+/, "");
