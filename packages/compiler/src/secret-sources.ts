// Where a plan's secret values come from: what the executor redacts from every line it prints.
import { type Plan, type PlannedImage, valueRef } from "@multiarch/plan";
import type { Spec } from "@multiarch/spec";

/** Every place a secret value can come from (the signing key and its password too), for the executor's redactor. */
export function secretSources(spec: Spec, images: readonly PlannedImage[]): Plan["secrets"] {
  const used = new Set(images.flatMap((i) => i.refs.map((r) => r.registry)));
  const names = new Set(images.map((i) => i.name));
  const refs: Plan["secrets"] = [
    ...spec.registries.flatMap((r) => (used.has(r.name) && r.password ? [valueRef(r.password)] : [])),
    ...spec.images.filter((i) => names.has(i.name)).flatMap((i) => i.secrets.map((s) => (s.env ? { env: s.env } : { file: s.file! }))),
    ...(spec.sign?.mode === "key" ? [spec.sign.key, ...(spec.sign.password ? [spec.sign.password] : [])] : []).map(valueRef),
  ];
  return [...new Map(refs.map((r) => [JSON.stringify(r), r])).values()];
}
