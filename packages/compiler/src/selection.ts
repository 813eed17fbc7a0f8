// Which images and platforms a run builds: --image, --group and --platform, plus everything the chosen
// images build FROM (image: contexts), for the platforms their dependents need.
import { didYouMean, type Platform, parsePlatform } from "@multiarch/plan";
import { type Diagnostic, diag, type Image, type Spec } from "@multiarch/spec";

/** What the caller asked for by name (absent: everything). */
export interface SelectOptions {
  /** Restrict to these images; their image: dependencies are built too (not published unless selected). */
  images?: readonly string[];
  /** Restrict to the images of these groups (with `images`: both). */
  groups?: readonly string[];
  /** Restrict to these platforms; an image built for a subset of its platforms is never published. */
  platforms?: readonly string[];
}

/** --image / --group as plan reads them (for graph): the selected images and what they build FROM. */
export function selectImages(
  spec: Spec,
  options: Pick<SelectOptions, "images" | "groups" | "platforms">,
): { ok: true; images: Image[] } | { ok: false; errors: Diagnostic[] } {
  const s = select(spec, options);
  return s.ok ? { ok: true, images: withDependencies(spec, s.images) } : s;
}

export function select(spec: Spec, options: SelectOptions): { ok: true; images: Image[]; asked: string[] } | { ok: false; errors: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  const at = { file: spec.file, line: 0, col: 0 };
  const names = spec.images.map((i) => i.name);
  const groupNames = spec.groups.map((g) => g.name);
  for (const g of options.groups ?? []) {
    if (!groupNames.includes(g))
      errors.push(
        diag("selection-unknown", at, `--group ${g}: no such group`, {
          hint: didYouMean(g, groupNames) ?? (groupNames.length ? `groups: ${groupNames.join(", ")}` : "declare it under groups:"),
        }),
      );
  }
  for (const n of options.images ?? []) {
    if (!names.includes(n))
      errors.push(diag("selection-unknown", at, `--image ${n}: no such image`, { hint: didYouMean(n, names) ?? `images: ${names.join(", ")}` }));
  }
  const wanted: Platform[] = [];
  // each written once: "--platform ," is two empty items, one problem
  for (const p of new Set(options.platforms ?? [])) {
    const parsed = parsePlatform(p);
    if (!parsed.ok) errors.push(diag("selection-unknown", at, `--platform ${parsed.message}`, { hint: parsed.hint }));
    else wanted.push(parsed.platform);
  }
  if (errors.length) return { ok: false, errors };
  const asked = [...(options.images ?? []), ...spec.groups.filter((g) => options.groups?.includes(g.name)).flatMap((g) => g.images)];
  let images = asked.length ? spec.images.filter((i) => asked.includes(i.name)) : spec.images;
  if (wanted.length) {
    images = images.map((i) => ({ ...i, platforms: i.platforms.filter((p) => wanted.includes(p)) })).filter((i) => i.platforms.length > 0);
    if (images.length === 0) return { ok: false, errors: [diag("selection-unknown", at, `no selected image is built for ${wanted.join(", ")}`)] };
  }
  return { ok: true, images, asked };
}

/**
 * The selected images plus everything they build FROM, in spec order. A dependency nobody selected is
 * built for the platforms its selected dependents need (they are a subset of its own).
 */
export function withDependencies(spec: Spec, images: Image[]): Image[] {
  const selected = new Map(images.map((i) => [i.name, i]));
  const need = new Map<string, Set<string>>(images.map((i) => [i.name, new Set(i.platforms)]));
  for (const img of [...spec.images].reverse()) {
    const mine = need.get(img.name);
    if (!mine) continue;
    for (const d of img.dependsOn) {
      const set = need.get(d) ?? new Set<string>();
      for (const p of mine) set.add(p);
      need.set(d, set);
    }
  }
  return spec.images
    .filter((i) => need.has(i.name))
    .map((i) => selected.get(i.name) ?? { ...i, platforms: i.platforms.filter((p) => need.get(i.name)!.has(p)) });
}
