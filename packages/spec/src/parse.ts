// parseSpec: text -> Spec | diagnostics. Pure: the file system is asked through SpecFs only.
import { type Diagnostic, hasErrors, sortDiagnostics, splitDiagnostics } from "./diagnostics.ts";
import { imageKey, type Spec } from "./model.ts";
import { normalize, type SpecFs } from "./normalize.ts";
import { fastShape } from "./fast-shape.ts";
import { parseSets } from "./overrides.ts";
import { type SpecInput, specInputSchema } from "./schema.ts";
import { standInAt } from "./schema-paths.ts";
import { type Path, parseYaml } from "./source-map.ts";
import { zodIssuesToDiagnostics } from "./zod-issues.ts";

export type SpecResult =
  | { ok: true; spec: Spec; warnings: Diagnostic[] }
  /** `unaffected`: the spec without the images its errors are in, when they are all in images (see unaffectedBy). */
  | { ok: false; errors: Diagnostic[]; warnings: Diagnostic[]; unaffected?: Spec };

/**
 * `env`: where variables are read from for the fields that shape the plan; without it, defaults only
 * (validate --static). `sets`: --set IMAGE.KEY=VALUE overrides. `absentInputs`: build inputs (contexts,
 * Dockerfiles) need not exist, for a command that builds nothing (promote).
 */
export function parseSpec(
  text: string,
  opts: { file: string; root: string; fs: SpecFs; env?: Readonly<Record<string, string | undefined>>; sets?: readonly string[]; absentInputs?: boolean },
): SpecResult {
  // a malformed --set is reported beside everything else: the well-formed ones still apply
  const sets = parseSets(opts.sets ?? [], opts.file);
  const yaml = parseYaml(text, opts.file);
  if (!yaml.ok) return { ok: false, errors: [...sets.errors, ...yaml.errors], warnings: [] };
  const fast = fastShape(yaml.data);
  const shape = fast ? { success: true as const, data: fast.value as SpecInput } : specInputSchema().safeParse(yaml.data);
  if (!shape.success) {
    const errors = zodIssuesToDiagnostics(shape.error.issues, yaml.data, yaml.map);
    // Every problem in one run: without the values found wrong, the rest of the file is checked as usual.
    const removed = shape.error.issues.flatMap((i) => (i.code === "unrecognized_keys" ? i.keys.map((k) => [...i.path, k]) : [i.path])).map(upToList);
    const data = without(yaml.data, removed);
    // A variable or registry of the wrong shape stands in as one the schema accepts, so what names it is
    // no error too (an unknown variable, an unknown registry).
    const named = removed.filter((r) => r.length === 2 && (r[0] === "variables" || r[0] === "registries") && setAt(data, r, standInAt(r as Path)));
    let rest = specInputSchema().safeParse(data);
    // A required value removed (context: 5) stands in as one the schema accepts, so other images are
    // checked, and the image stays one that others may name. What a stand-in leads to is not reported:
    // anything in the object holding it (its image), or anything under it when that is the spec or a
    // collection of it (variables, registries).
    const required = rest.success ? [] : rest.error.issues.map((i) => i.path);
    if (!rest.success && required.every((p) => removed.some((r) => samePath(r, p)) && setAt(data, p, standInAt(p as Path))))
      rest = specInputSchema().safeParse(data);
    if (!rest.success) return { ok: false, errors: sortDiagnostics([...sets.errors, ...errors]), warnings: [] };
    // an image whose matrix is wrong is checked as one without: what its names and templates say of the matrix follows from it
    const matrices = removed.filter((r) => r.length === 3 && r[0] === "images" && r[2] === "matrix");
    const scopes = [...named, ...required, ...matrices].map((p) => (p.length > 2 ? p.slice(0, -1) : p));
    const under = (path: readonly Segment[], scope: readonly Segment[]) => scope.every((seg, i) => path[i] === seg);
    // a problem at or above a removed value may be only its absence ("no images"): not reported
    const consequence = (d: Diagnostic) =>
      (d.path !== undefined && (removed.some((r) => d.path!.every((seg, i) => r[i] === seg)) || scopes.some((s) => under(d.path!, s)))) ||
      unknowable(d, removed, named);
    const checked = normalize(rest.data, yaml.map, opts);
    const found = splitDiagnostics([...errors, ...checked.diagnostics.filter((d) => !consequence(d))]);
    return { ok: false, ...found, errors: [...sets.errors, ...found.errors], ...unaffectedBy(checked.spec, found.errors) };
  }
  const { spec, diagnostics } = normalize(shape.data, yaml.map, { ...opts, overrides: sets.overrides });
  const { errors, warnings } = splitDiagnostics(diagnostics);
  return !spec || hasErrors(errors) || sets.errors.length
    ? { ok: false, errors: [...sets.errors, ...errors], warnings, ...unaffectedBy(spec, errors) }
    : { ok: true, spec, warnings };
}

/**
 * The spec without the images an error is in, nor those built FROM them: what can still be rendered and
 * compiled, so one run reports those images' problems too (a bad tag in one image, an unknown platform in
 * another). None when an error is outside images (variables, registries, defaults): every image may
 * depend on it.
 */
function unaffectedBy(spec: Spec | undefined, errors: readonly Diagnostic[]): { unaffected?: Spec } {
  if (!spec || errors.some((d) => d.path?.[0] !== "images" || d.path.length < 2)) return {};
  const keys = new Set(errors.map((d) => String(d.path![1])));
  const out = new Set(spec.images.filter((i) => keys.has(imageKey(i))).map((i) => i.name));
  for (let grew = true; grew; ) {
    grew = false;
    for (const i of spec.images)
      if (!out.has(i.name) && i.dependsOn.some((d) => out.has(d) || !spec.images.some((o) => o.name === d))) {
        out.add(i.name);
        grew = true;
      }
  }
  const images = spec.images.filter((i) => !out.has(i.name));
  if (images.length === 0) return {};
  const groups = spec.groups.map((g) => ({ ...g, images: g.images.filter((n) => !out.has(n)) }));
  return { unaffected: { ...spec, images, groups } };
}

type Segment = PropertyKey;

/**
 * A name a collection found wrong would have declared (registries: 5, variables: 5), or a list variable
 * that stands in as a plain one (split: 5): naming it is no error of its own.
 */
function unknowable(d: Diagnostic, removed: readonly Segment[][], standIns: readonly Segment[][]): boolean {
  const gone = (key: string) => removed.some((r) => r.length === 1 && r[0] === key);
  if (d.code === "registry-unknown") return gone("registries");
  // of a variable: not of a matrix key, nor of a built-in used where only variables may be
  if (d.code !== "template-unknown-variable" || !/ unknown variable "|is not a list variable/.test(d.message)) return false;
  return gone("variables") || standIns.some((r) => r[0] === "variables" && d.message.includes(`"${String(r[1])}"`));
}

/** A path cut before its first list index: a list loses the whole list, so later items keep their index (and their position in the file). */
const upToList = (path: readonly Segment[]): Segment[] => {
  const i = path.findIndex((s) => typeof s === "number");
  return [...(i === -1 ? path : path.slice(0, i))];
};

const samePath = (a: readonly Segment[], b: readonly Segment[]) => a.length === b.length && a.every((seg, i) => b[i] === seg);

/** Sets the value at path in data, whose parent mapping must exist; false when it does not, or value is undefined. */
function setAt(data: unknown, path: readonly Segment[], value: unknown): boolean {
  let node: unknown = data;
  for (const seg of path.slice(0, -1)) node = node !== null && typeof node === "object" ? (node as Record<Segment, unknown>)[seg] : undefined;
  if (value === undefined || node === null || typeof node !== "object" || Array.isArray(node)) return false;
  (node as Record<Segment, unknown>)[path.at(-1)!] = value;
  return true;
}

/** A copy of the parsed YAML without the values at these paths (mappings only: see upToList). */
function without(data: unknown, paths: readonly Segment[][]): unknown {
  const copy = structuredClone(data);
  for (const path of paths) {
    if (path.length === 0) return undefined;
    let node: unknown = copy;
    for (const seg of path.slice(0, -1)) node = node !== null && typeof node === "object" ? (node as Record<Segment, unknown>)[seg] : undefined;
    if (node !== null && typeof node === "object" && !Array.isArray(node)) delete (node as Record<Segment, unknown>)[path.at(-1)!];
  }
  return copy;
}
