// SpecInput (what users wrote, already shape-checked by zod) -> Spec (what code uses), with the
// cross-field rules: platforms, references, registries, templates, contexts, paths, cycles.
import { posix, relative, resolve, sep } from "node:path";
import { diag, type Diagnostic, type DiagnosticCode, type SourcePos } from "./diagnostics.ts";
import {
  type Attest,
  type Cache,
  DEFAULT_PLATFORMS,
  DEFAULT_TAGS,
  type Image,
  type KeyedTemplate,
  type NamedContext,
  type Registry,
  type Spec,
  type Template,
  type Variable,
} from "./model.ts";
import { formatPlatform, parsePlatform, type Platform } from "./platform.ts";
import { checkFullName, checkRepositoryPath, parseRegistryUrl, repositoryRef } from "./reference.ts";
import type { ImageInput, SpecInput } from "./schema.ts";
import type { Path, SourceMap } from "./source-map.ts";
import { didYouMean } from "./suggest.ts";
import { checkTemplate } from "./template.ts";

/** The file system questions normalisation asks; injected so the rules stay testable and pure. */
export interface SpecFs {
  /** Resolved real path, or undefined when nothing is there. */
  realpath(path: string): string | undefined;
  kind(path: string): "file" | "dir" | undefined;
}

const IMAGE_NAME_RE = /^[a-z0-9][a-z0-9_-]*$/;
const VARIABLE_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ARG_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Names that usually carry secrets: *_TOKEN, *PASSWORD*, *SECRET*, API_KEY, GITHUB_AUTH_KEY, *_KEY, AUTH*…
const SECRET_LIKE_RE = /(TOKEN|PASSWORD|PASSWD|PASSPHRASE|SECRET|CREDENTIAL|AUTH(?!OR)|(^|_)KEY$|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|_PAT$)/i;
const CONTEXT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.\/-]*(:[A-Za-z0-9_.-]+)?$/;
const RESERVED_VARIABLES = new Set(["git", "image", "platform"]);

export function normalize(input: SpecInput, map: SourceMap, opts: { file: string; root: string; fs: SpecFs }): { spec?: Spec; diagnostics: Diagnostic[] } {
  const out: Diagnostic[] = [];
  const report = (code: DiagnosticCode, path: Path, message: string, hint?: string, onKey = false) =>
    out.push(diag(code, onKey ? map.keyAt(path) : map.valueAt(path), message, { hint, path: [...path] }));
  const warn = (code: DiagnosticCode, path: Path, message: string, hint?: string) =>
    out.push(diag(code, map.valueAt(path), message, { hint, severity: "warning", path: [...path] }));
  const dir = resolve(opts.file, "..");
  const rootReal = opts.fs.realpath(opts.root) ?? opts.root;

  // --- registries --------------------------------------------------------------------------
  const registries: Registry[] = [];
  for (const [name, r] of Object.entries(input.registries ?? {})) {
    if (!IMAGE_NAME_RE.test(name)) report("invalid-value", ["registries", name], `registry name "${name}" must match [a-z0-9][a-z0-9_-]*`, undefined, true);
    const url = parseRegistryUrl(r.url);
    if (!url.ok) {
      report("registry-url-invalid", ["registries", name, "url"], url.message, url.hint);
      continue;
    }
    const reg: Registry = { name, url: r.url, host: url.value.host, namespace: url.value.namespace, insecure: r.insecure ?? false, at: map.keyAt(["registries", name]) };
    if (r.username) reg.username = r.username;
    if (r.password) reg.password = r.password;
    if (Boolean(r.username) !== Boolean(r.password)) {
      report("missing-key", ["registries", name], `registry ${name}: give both username and password, or neither`, undefined, true);
    }
    registries.push(reg);
  }
  const registryNames = Object.keys(input.registries ?? {});

  // --- variables ---------------------------------------------------------------------------
  const variables: Variable[] = [];
  for (const [name, v] of Object.entries(input.variables ?? {})) {
    const path = ["variables", name];
    if (!VARIABLE_NAME_RE.test(name)) report("invalid-value", path, `variable name "${name}" must match [A-Za-z_][A-Za-z0-9_]*`, undefined, true);
    else if (RESERVED_VARIABLES.has(name)) report("invalid-value", path, `"${name}" is a built-in name`, "choose another variable name", true);
    const at = map.keyAt(path);
    variables.push(typeof v === "string" ? { name, value: v, at } : { name, env: v.env, ...(v.default !== undefined ? { default: v.default } : {}), at });
  }
  const variableNames = new Set(variables.map((v) => v.name));

  const template = (source: string, path: Path): Template | undefined => {
    const checked = checkTemplate(source, variableNames);
    if (!checked.ok) {
      report(checked.problem.code, path, checked.problem.message, checked.problem.hint);
      return undefined;
    }
    return { source, at: map.valueAt(path), uses: [...checked.template.uses] };
  };
  const keyed = (entries: Record<string, string> | undefined, path: Path, keyRe?: RegExp): KeyedTemplate[] => {
    const result: KeyedTemplate[] = [];
    for (const [key, source] of Object.entries(entries ?? {})) {
      if (keyRe && !keyRe.test(key)) report("invalid-value", [...path, key], `"${key}" is not a valid name here`, "use letters, digits and _", true);
      const t = template(source, [...path, key]);
      if (t) result.push({ key, value: t });
    }
    return result;
  };

  const platformList = (list: readonly string[], path: Path): Platform[] => {
    const seen = new Map<string, string>();
    const result: Platform[] = [];
    for (const [i, written] of list.entries()) {
      const p = parsePlatform(written);
      if (!p.ok) {
        report(p.code, [...path, i], p.message, p.hint);
        continue;
      }
      if (p.normalisedFrom) warn("platform-normalised", [...path, i], `"${written}" is written ${p.canonical}`, `write ${p.canonical}`);
      const first = seen.get(p.canonical);
      if (first !== undefined) {
        warn("platform-duplicate", [...path, i], `"${written}" is the same platform as "${first}"; listed once`);
        continue;
      }
      seen.set(p.canonical, written);
      result.push(p.platform);
    }
    return result;
  };
  const defaultPlatforms = input.platforms ? platformList(input.platforms, ["platforms"]) : DEFAULT_PLATFORMS.map((p) => (parsePlatform(p) as { platform: Platform }).platform);

  const checkRegistryNames = (names: readonly string[], path: Path) =>
    names.forEach((n, i) => {
      if (!registryNames.includes(n)) {
        report("registry-unknown", [...path, i], `unknown registry "${n}"`, didYouMean(n, registryNames) ?? (registryNames.length ? `registries: ${registryNames.join(", ")}` : "declare it under registries:"));
      }
    });
  const d = input.defaults ?? {};
  if (d.registries) checkRegistryNames(d.registries, ["defaults", "registries"]);
  const defaultTags = d.tags ? d.tags.map((t, i) => template(t, ["defaults", "tags", i])) : undefined;

  // A path the user wrote must exist and, resolved through symlinks, stay inside the repository.
  const inside = (abs: string, want: "file" | "dir", path: Path, what: string): string | undefined => {
    const real = opts.fs.realpath(abs);
    if (real === undefined || opts.fs.kind(real) !== want) {
      report("path-missing", path, `${what} ${relative(dir, abs) || "."} ${real === undefined ? "does not exist" : `is not a ${want === "dir" ? "folder" : "file"}`}`);
      return undefined;
    }
    if (real !== rootReal && !real.startsWith(rootReal + sep)) {
      report("path-outside-repo", path, `${what} ${relative(dir, abs)} is outside the repository (${rootReal})`, "keep build inputs inside the repository; a context outside it leaks files into builds");
      return undefined;
    }
    return real;
  };
  const rel = (abs: string) => relative(dir, abs).split(sep).join(posix.sep) || ".";

  // --- images ------------------------------------------------------------------------------
  const images: Image[] = [];
  const imageNames = Object.keys(input.images);
  if (imageNames.length === 0) report("invalid-value", ["images"], "no images: list at least one under images:");
  const repositories = new Map<string, string>();
  for (const [name, img] of Object.entries(input.images)) {
    const ip = ["images", name];
    if (!IMAGE_NAME_RE.test(name)) {
      report("invalid-value", ip, `image name "${name}" must match [a-z0-9][a-z0-9_-]*`, name.toLowerCase() !== name && IMAGE_NAME_RE.test(name.toLowerCase()) ? `write ${name.toLowerCase()}` : undefined, true);
    }
    const image = normalizeImage(name, img, ip);
    if (image) images.push(image);
  }

  function normalizeImage(name: string, img: ImageInput, ip: Path): Image | undefined {
    const repository = img.repository ?? name;
    const repoCheck = checkRepositoryPath(repository);
    if (!repoCheck.ok) report("repository-invalid", img.repository ? [...ip, "repository"] : ip, repoCheck.message, repoCheck.hint, !img.repository);
    const regs = img.registries ?? d.registries ?? registryNames;
    if (img.registries) checkRegistryNames(img.registries, [...ip, "registries"]);
    for (const rn of regs) {
      const reg = registries.find((r) => r.name === rn);
      if (!reg || !repoCheck.ok) continue;
      const full = repositoryRef(reg, repository);
      const lenCheck = checkFullName(full);
      if (!lenCheck.ok) report("repository-invalid", img.repository ? [...ip, "repository"] : ip, lenCheck.message, undefined, !img.repository);
      const other = repositories.get(full);
      if (other) report("tag-duplicate", ip, `images ${other} and ${name} both publish ${full}`, "give one of them another repository:", true);
      repositories.set(full, name);
    }

    const contextAbs = resolve(dir, img.context);
    const contextReal = inside(contextAbs, "dir", [...ip, "context"], "context");
    const dockerfile = img.dockerfile ?? "Dockerfile";
    if (contextReal) inside(resolve(contextAbs, dockerfile), "file", img.dockerfile ? [...ip, "dockerfile"] : [...ip, "context"], "Dockerfile");

    const contexts: NamedContext[] = [];
    const dependsOn: string[] = [];
    for (const [cname, value] of Object.entries(img.contexts ?? {})) {
      const cp = [...ip, "contexts", cname];
      const at = map.valueAt(cp);
      if (!CONTEXT_NAME_RE.test(cname)) {
        report("invalid-value", cp, `context name "${cname}" is not a name a Dockerfile can use in FROM or --from`, cname.includes("{{") ? "context names are not templates; write the name itself" : "use letters, digits and . _ - /", true);
        continue;
      }
      if (value.startsWith("image:")) {
        const target = value.slice("image:".length);
        if (!imageNames.includes(target)) {
          report("context-unknown-image", cp, `context ${cname}: "${target}" is not an image of this spec`, didYouMean(target, imageNames) ?? `images: ${imageNames.join(", ")}`);
        } else if (target === name) {
          report("dependency-cycle", cp, `image ${name} cannot build FROM itself`);
        } else {
          contexts.push({ name: cname, kind: "image", image: target, at });
          dependsOn.push(target);
        }
      } else if (value.startsWith("target:")) {
        report("invalid-value", cp, `context ${cname}: "target:" links are bake's own; write image:${value.slice(7)}`);
      } else if (/^[a-z][a-z0-9+.-]*:\/\//.test(value) || value.startsWith("git@")) {
        contexts.push({ name: cname, kind: "ref", ref: value, at });
      } else {
        const abs = resolve(dir, value);
        if (inside(abs, "dir", cp, `context ${cname}`)) contexts.push({ name: cname, kind: "local", path: rel(abs), at });
      }
    }

    for (const key of Object.keys(img.args ?? {})) {
      if (SECRET_LIKE_RE.test(key)) {
        warn("arg-looks-secret", [...ip, "args", key], `build arg ${key} looks like a secret: args end up in the image history and provenance`, `use secrets: [{ id: ${key.toLowerCase()}, env: ${key} }] and RUN --mount=type=secret,id=${key.toLowerCase()}`);
      }
    }
    (img.secrets ?? []).forEach((s, i) => {
      if ((s.env === undefined) === (s.file === undefined)) report("invalid-value", [...ip, "secrets", i], `secret ${s.id}: give exactly one of env or file`);
    });

    const tagsIn = img.tags ? img.tags.map((t, i) => template(t, [...ip, "tags", i])) : defaultTags ?? DEFAULT_TAGS.map((t) => template(t, ip));
    const cacheIn = img.cache ?? d.cache;
    const cachePath = img.cache ? [...ip, "cache"] : ["defaults", "cache"];
    let cache: Cache | undefined;
    if (cacheIn) {
      cache = { type: cacheIn.type, mode: cacheIn.mode ?? "max" };
      if (cacheIn.type === "registry") {
        const rn = cacheIn.registry ?? regs[0];
        if (rn === undefined) report("registry-unknown", cachePath, "a registry cache needs a registry, and this image has none");
        else if (!registryNames.includes(rn)) report("registry-unknown", [...cachePath, "registry"], `unknown registry "${rn}"`, didYouMean(rn, registryNames));
        else cache.registry = rn;
      } else if (cacheIn.type === "local") cache.dir = posix.normalize(cacheIn.dir ?? ".multiarch/cache");
    }
    const attestIn = img.attest ?? d.attest ?? {};
    const attest: Attest = { provenance: attestIn.provenance ?? "min", sbom: attestIn.sbom ?? false };

    const platformsPath = img.platforms ? [...ip, "platforms"] : null;
    const image: Image = {
      name,
      repository,
      at: map.keyAt(ip),
      context: rel(contextAbs),
      dockerfile,
      platforms: platformsPath ? platformList(img.platforms!, platformsPath) : d.platforms ? platformList(d.platforms, ["defaults", "platforms"]) : defaultPlatforms,
      registries: regs.filter((r) => registryNames.includes(r)),
      contexts,
      args: keyed(img.args ?? d.args, img.args ? [...ip, "args"] : ["defaults", "args"], ARG_NAME_RE),
      labels: keyed(img.labels ?? d.labels, img.labels ? [...ip, "labels"] : ["defaults", "labels"]),
      annotations: keyed(img.annotations ?? d.annotations, img.annotations ? [...ip, "annotations"] : ["defaults", "annotations"]),
      secrets: (img.secrets ?? []).map((s) => ({ id: s.id, ...(s.env ? { env: s.env } : {}), ...(s.file ? { file: s.file } : {}) })),
      tags: tagsIn.filter((t): t is Template => t !== undefined),
      attest,
      dependsOn,
    };
    if (img.target) image.target = img.target;
    if (img.test) image.test = { run: img.test.run };
    if (cache) image.cache = cache;
    return image;
  }

  // A dependent image builds FROM its base's image of the same platform: the base must have them all.
  for (const img of images) {
    for (const c of img.contexts) {
      if (c.kind !== "image") continue;
      const dep = images.find((i) => i.name === c.image);
      if (!dep) continue;
      const depPlatforms = new Set(dep.platforms.map(formatPlatform));
      const missing = img.platforms.map(formatPlatform).filter((p) => !depPlatforms.has(p));
      if (missing.length > 0) {
        out.push(
          diag("context-platforms", c.at, `image ${img.name} builds FROM ${dep.name} for ${missing.join(", ")}, but ${dep.name} is not built for ${missing.length > 1 ? "those platforms" : "that platform"}`, {
            hint: `add ${missing.join(", ")} to ${dep.name}'s platforms`,
          }),
        );
      }
    }
  }
  const ordered = dependencyOrder(images, out);
  const spec: Spec = {
    file: opts.file,
    dir,
    root: rootReal,
    registries,
    variables,
    images: ordered,
    build: { strategy: input.build?.strategy ?? "auto" },
  };
  if (input.build?.builder) spec.build.builder = input.build.builder;
  if (input.build?.concurrency) spec.build.concurrency = input.build.concurrency;
  return { spec, diagnostics: out };
}

/** Topological order (stable: declaration order among independents); a cycle is an error naming it. */
function dependencyOrder(images: Image[], out: Diagnostic[]): Image[] {
  const byName = new Map(images.map((i) => [i.name, i]));
  const state = new Map<string, "visiting" | "done">();
  const ordered: Image[] = [];
  const visit = (img: Image, trail: string[]): void => {
    const s = state.get(img.name);
    if (s === "done") return;
    if (s === "visiting") {
      const cycle = [...trail.slice(trail.indexOf(img.name)), img.name];
      const at: SourcePos = img.contexts.find((c) => c.kind === "image")?.at ?? img.at;
      out.push(diag("dependency-cycle", at, `dependency cycle: ${cycle.join(" -> ")}`, { hint: "an image cannot be built FROM an image that builds FROM it" }));
      return;
    }
    state.set(img.name, "visiting");
    for (const dep of img.dependsOn) {
      const d = byName.get(dep);
      if (d) visit(d, [...trail, img.name]);
    }
    state.set(img.name, "done");
    ordered.push(img);
  };
  for (const img of images) visit(img, []);
  return ordered;
}

