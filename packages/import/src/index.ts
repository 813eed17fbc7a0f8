// multiarch import, in one place: bake's own --print of a bake file (bake-print.ts, runs buildx) and the
// multiarch.yaml it becomes (from-bake.ts, pure). The command itself is cli/src/commands/import.ts.
export { bakeDefaultPlatform, bakePrint } from "./bake-print.ts";
export { type BakePrint, needsBuilderPlatform, specFromBake } from "./from-bake.ts";
